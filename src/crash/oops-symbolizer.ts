import type { KernelSymbols } from '../session/kernel-symbols.js';
import type { SourceFrame } from '../symbols/dwarf/dwarf-info.js';

/** One symbolized frame of an oops or stack trace. */
export interface SymbolizedTraceLine {
  /** The line as it came. */
  line: string;
  function: string;
  offset: bigint;
  /** The link-time address looked up (a return address minus one for call-trace entries). */
  address: bigint;
  /** Innermost inlined function first, as addr2line -f -i prints them. */
  frames: SourceFrame[];
  /** Why there are no frames when the DWARF lookup failed (rather than found nothing). */
  problem?: string;
}

/** `func+0xOFF/0xSIZE` (optionally `[module]`), as the kernel prints symbols in traces. */
const SYMBOL_OFFSET = /(?:^|[\s(<])(?:RIP: [0-9a-f]{4}:)?(\?\s+)?([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?:\s+\[[\w-]+\])?/;

/**
 * Turns the `func+0xOFF/0xSIZE` entries of an oops, a WARN or a stack dump into file:line with
 * inlined frames (what the kernel's decode_stacktrace.sh does with addr2line). The RIP line is
 * looked up at its own address; call-trace entries are return addresses, looked up one byte back
 * so the call's own line is named.
 */
export async function symbolizeTrace(text: string, symbols: KernelSymbols): Promise<{ line: string; symbolized?: SymbolizedTraceLine }[]> {
  const out: { line: string; symbolized?: SymbolizedTraceLine }[] = [];
  // A log saved on another system may end its lines in CRLF: the \r is not part of the line.
  for (const line of text.split(/\r?\n/)) {
    const m = SYMBOL_OFFSET.exec(line);
    const base = m ? symbols.table.functionAddress(m[2]!) ?? symbols.table.lookup(m[2]!)[0]?.address : undefined;
    if (!m || base === undefined) {
      out.push({ line });
      continue;
    }
    const offset = BigInt(`0x${m[3]}`);
    const isIp = /\bRIP: /.test(line) || /\bIP: /.test(line);
    const address = base + offset - (isIp || offset === 0n ? 0n : 1n);
    let problem: string | undefined;
    const frames = symbols.dwarf ? await symbols.dwarf.addr2line(address).catch((err: Error) => ((problem = err.message), [])) : [];
    // No DWARF there (the padding 6.2+ puts before functions, `__pfx_*`; assembly without line
    // info): the symbol table still names the address, with no file or line, as addr2line does.
    if (frames.length === 0 && !problem) {
      const hit = symbols.table.symbolize(address);
      if (hit && hit.offset < BigInt(Math.max(hit.size, 1))) frames.push({ function: hit.name, inlined: false });
    }
    // Assembly has no DWARF function: the name then comes from the symbol table, where the
    // kernel's own (nearer) label, the one the trace printed, is what addr2line names too.
    const only = frames.length === 1 ? frames[0]! : undefined;
    const named = only && only.function !== m[2] ? symbols.table.functionAddress(only.function) : undefined;
    if (only && named !== undefined && named < base) only.function = m[2]!;
    out.push({ line, symbolized: { line, function: m[2]!, offset, address, frames, ...(problem ? { problem } : {}) } });
  }
  return out;
}

/** The human form: each symbolized line followed by its source and the inlined chain. */
export function formatSymbolizedTrace(lines: { line: string; symbolized?: SymbolizedTraceLine }[]): string {
  const out: string[] = [];
  for (const { line, symbolized } of lines) {
    if (!symbolized || symbolized.frames.length === 0) {
      out.push(symbolized?.problem ? `${line} (no file:line: ${symbolized.problem})` : line);
      continue;
    }
    const [inner, ...outer] = symbolized.frames;
    out.push(`${line} ${inner!.file ?? '??'}:${inner!.line ?? '?'}`);
    if (outer.length) out.push(`    ${inner!.function} inlined into:`);
    for (const f of outer) out.push(`    ${f.function} at ${f.file ?? '??'}:${f.line ?? '?'}`);
  }
  return out.join('\n');
}
