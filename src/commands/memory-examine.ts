import { KdiveError } from '../errors.js';
import { ConnectionClosedError, TargetTimeoutError } from '../target/target-error.js';
import { disassemble } from '../arch/x86_64/disassembler.js';
import { charArrayText } from '../expr/value-printer.js';

export interface ExamineFormat {
  count: number;
  format: string;
  size: number;
}

const SIZES: Record<string, number> = { b: 1, h: 2, w: 4, g: 8 };
const MAX_EXAMINE_COUNT = 1 << 24;

/** gdb's x/FMT letters: a count, then a format (x d u o t a c s i z) and a size (b h w g) in either order. */
export function parseExamineFormat(fmt: string | undefined, previous: ExamineFormat = { count: 1, format: 'x', size: 4 }): ExamineFormat {
  if (!fmt) return { ...previous, count: 1 };
  const m = /^(\d*)([a-z]*)$/.exec(fmt);
  if (!m) throw new KdiveError(`bad format '/${fmt}': expected /[COUNT][FORMAT][SIZE] such as /4gx`);
  const out: ExamineFormat = { count: m[1] ? Number(m[1]) : 1, format: previous.format, size: previous.size };
  // A count no memory could satisfy would keep the REPL reading for ever.
  if (out.count > MAX_EXAMINE_COUNT) throw new KdiveError(`count ${m[1]} in /${fmt} is too large (at most ${MAX_EXAMINE_COUNT} units at a time)`);
  for (const ch of m[2]!) {
    if (ch in SIZES) out.size = SIZES[ch]!;
    else if ('xduotacsiz'.includes(ch)) out.format = ch;
    else throw new KdiveError(`undefined output format or size letter '${ch}' in /${fmt}`);
  }
  if (out.format === 'a') out.size = 8;
  if (out.format === 'c' && !/[bhwg]/.test(m[2]!)) out.size = 1;
  return out;
}

/** The lines of `x/FMT ADDRESS` as gdb prints them. */
export async function examine(address: bigint, f: ExamineFormat, readRaw: (a: bigint, n: number) => Promise<Buffer>, symbolAt: (a: bigint) => string | undefined, pc?: bigint): Promise<string[]> {
  const read = (a: bigint, n: number) =>
    // A read the stub refused is gdb's one answer for an address that cannot be read; a stub that
    // hung up or went quiet is said as such (the address is not the problem).
    readRaw(a, n).catch((err: unknown) => {
      if (err instanceof ConnectionClosedError || err instanceof TargetTimeoutError) throw err;
      throw new KdiveError(`Cannot access memory at address 0x${a.toString(16)}`);
    });
  const label = (a: bigint) => {
    const s = symbolAt(a);
    return `0x${a.toString(16)}${s ? ` <${s}>` : ''}:`;
  };
  const lines: string[] = [];
  if (f.format === 'i') {
    const code = await read(address, Math.max(16, f.count * 15)).catch(async () => read(address, 16));
    for (const insn of disassemble(code, address, symbolAt, f.count)) lines.push(`${insn.address === pc ? '=> ' : '   '}${label(insn.address)}\t${insn.text}`);
    return lines;
  }
  if (f.format === 's') {
    let at = address;
    for (let i = 0; i < f.count; i++) {
      const b = await read(at, 256).catch(() => read(at, 1)); // the string ends before the next unmapped page
      const end = b.indexOf(0);
      const text = b.subarray(0, end < 0 ? b.length : end);
      lines.push(`${label(at)}\t${charArrayText(Buffer.concat([text, Buffer.from([0])]))}`);
      at += BigInt(text.length + 1);
    }
    return lines;
  }
  const data = await read(address, f.count * f.size);
  const perLine = f.format === 'c' ? 8 : f.size === 8 ? 2 : f.size === 4 ? 4 : 8;
  for (let i = 0; i < f.count; i += perLine) {
    const cells: string[] = [];
    for (let j = i; j < Math.min(f.count, i + perLine); j++) {
      let v = 0n;
      for (let k = f.size - 1; k >= 0; k--) v = (v << 8n) | BigInt(data[j * f.size + k]!);
      cells.push(formatUnit(v, f, symbolAt));
    }
    lines.push(`${label(address + BigInt(i * f.size))}\t${cells.join('\t')}`);
  }
  return lines;
}

function formatUnit(v: bigint, f: ExamineFormat, symbolAt: (a: bigint) => string | undefined): string {
  const bits = f.size * 8;
  switch (f.format) {
    case 'x':
      return `0x${v.toString(16).padStart(f.size * 2, '0')}`;
    case 'z':
      return `0x${v.toString(16).padStart(f.size * 2, '0')}`;
    case 'd':
      return BigInt.asIntN(bits, v).toString();
    case 'u':
      return v.toString();
    case 'o':
      return v === 0n ? '0' : `0${v.toString(8)}`;
    case 't':
      return v.toString(2).padStart(bits, '0');
    case 'a': {
      const s = symbolAt(v);
      return `0x${v.toString(16)}${s ? ` <${s}>` : ''}`;
    }
    case 'c': {
      const c = Number(v & 0xffn);
      return `${BigInt.asIntN(8, v)} ${charArrayText(Buffer.from([c, 0])).replace(/^"(.*)"$/, "'$1'")}`;
    }
    default:
      return v.toString();
  }
}
