import type { Command } from 'commander';
import { KdiveError } from '../../errors.js';
import { SymbolTable } from '../../symbols/elf/index.js';
import { openKernelImage } from '../../symbols/image/index.js';
import { SymbolsWithoutDwarf } from './sym-without-dwarf.js';
import { DwarfInfo, type TypeMember } from '../../symbols/dwarf/index.js';
import { hex } from '../output/hex.js';
import { TerminalProgress } from '../progress/terminal-progress.js';

const QUERIES = ['addr2line', 'lookup', 'info-line', 'ptype'];

/**
 * `kdive sym VMLINUX QUERY ARGS...` (the README's order) as `kdive sym QUERY VMLINUX ARGS...`
 * (commander's): the vmlinux first is moved behind the query, anything else is left alone.
 */
export function normalizeSymArgs(argv: string[]): string[] {
  const at = argv.indexOf('sym', 2);
  if (at !== 2) return argv;
  const [first, second] = [argv[at + 1], argv[at + 2]];
  if (first === undefined || second === undefined || QUERIES.includes(first) || !QUERIES.includes(second) || first.startsWith('-')) return argv;
  return [...argv.slice(0, at + 1), second, first, ...argv.slice(at + 3)];
}

/** `kdive sym VMLINUX addr2line|lookup|info-line|ptype ...`: offline symbol queries (also `sym QUERY VMLINUX ...`). */
export function registerSymCommand(program: Command): void {
  const sym = program
    .command('sym')
    .usage('VMLINUX addr2line|lookup|info-line|ptype ARGS... (or: sym QUERY VMLINUX ARGS...)')
    .description('offline symbol queries on a vmlinux (ELF + DWARF), or on a bzImage or stripped vmlinux (kallsyms + BTF)');
  sym
    .command('addr2line')
    .argument('<vmlinux>').argument('<addresses...>')
    .option('--json', 'JSON output')
    .description('address to function, file:line, with the inlined chain (like addr2line -f -i)')
    .action((vmlinux: string, addresses: string[], o: { json?: boolean }) =>
      withDwarf(vmlinux, async (d) => {
        if (d instanceof SymbolsWithoutDwarf) {
          const out = [];
          for (const a of addresses) out.push({ address: hex(parseAddress(a)), frames: [await d.addr2line(parseAddress(a))].filter((f) => f !== undefined) });
          if (o.json) return print(JSON.stringify(out));
          for (const r of out) print(`${r.address}\n  ${r.frames[0] ? `${r.frames[0].function}+${r.frames[0].offset}` : '??'}`);
          return;
        }
        const out = [];
        for (const a of addresses) {
          const address = parseAddress(a);
          out.push({ address: hex(address), frames: await d.addr2line(address) });
        }
        if (o.json) print(JSON.stringify(out));
        else for (const r of out) {
          print(r.address);
          if (r.frames.length === 0) print('  ??');
          for (const f of r.frames) print(`  ${f.function} at ${f.shortFile ?? f.file ?? '??'}:${f.line ?? '?'}${f.inlined ? ' (inlined)' : ''}`);
        }
      }),
    );
  sym
    .command('lookup')
    .argument('<vmlinux>').argument('<name>')
    .option('--json', 'JSON output')
    .description('function name to its address, breakpoint address, file and line')
    .action((vmlinux: string, name: string, o: { json?: boolean }) =>
      withDwarf(vmlinux, async (d) => {
        if (d instanceof SymbolsWithoutDwarf) {
          const j = await d.lookup(name);
          if (o.json) return print(JSON.stringify(j));
          if (j.kind === 'variable') return print(`${j.name}: ${j.type ?? '?'} at ${j.address}${j.perCpu ? ' (per-CPU offset)' : ''}`);
          return print(`${j.name} at ${j.address}, breakpoint at ${j.breakAddress}: ${j.type ?? '?'} (no line information without DWARF)`);
        }
        let f;
        try {
          f = await d.lookupFunction(name);
        } catch (err) {
          // Not a function: a global or per-CPU variable, then.
          // Neither a function nor a variable: the function lookup's error (with close names) is the answer.
          const v = await d.lookupVariable(name).catch(() => {
            throw err;
          });
          const j = { name: v.name, kind: 'variable', address: v.address === undefined ? null : hex(v.address), type: v.type, perCpu: v.perCpu };
          return print(o.json ? JSON.stringify(j) : `${j.name}: ${j.type} at ${j.address}${j.perCpu ? ' (per-CPU offset)' : ''}`);
        }
        const j = { name: f.name, address: hex(f.address), breakAddress: hex(f.breakAddress), file: f.file ?? null, shortFile: f.shortFile ?? null, line: f.line ?? null };
        print(o.json ? JSON.stringify(j) : `${j.name} at ${j.address}, breakpoint at ${j.breakAddress}: ${j.shortFile ?? j.file}:${j.line}`);
      }),
    );
  sym
    .command('info-line')
    .argument('<vmlinux>').argument('<location>', 'FUNCTION or FILE:LINE')
    .option('--json', 'JSON output')
    .description("where a line's code is (like gdb's info line); for FILE:LINE also every breakpoint location gdb would use")
    .action((vmlinux: string, location: string, o: { json?: boolean }) =>
      withDwarf(vmlinux, async (d) => {
        if (d instanceof SymbolsWithoutDwarf) throw new KdiveError(`${vmlinux} has no DWARF: no line information (info-line needs the -dbg vmlinux)`);
        const fileLine = /^(.+):(\d+)$/.exec(location);
        // Every breakpoint location of FILE:LINE, as gdb's break finds them (a header line has hundreds).
        const found = fileLine ? await d.lineLocations(fileLine[1]!, Number(fileLine[2])) : undefined;
        const locations = found?.locations.map((l) => ({ address: hex(l.address), function: l.function ?? null, file: l.shortFile, line: l.line }));
        // The code ranges of the unit named after the file (gdb's info line); a header has none of its own.
        const r = await d.infoLine(found ? `${fileLine![1]}:${found.line}` : location).catch((err) => {
          if (found) return undefined;
          throw err;
        });
        const ranges = (r?.ranges ?? []).map((x) => ({ start: hex(x.start), end: hex(x.end) }));
        const line = found?.line ?? r!.line;
        if (o.json) print(JSON.stringify({ file: r?.file ?? found?.locations[0]?.file ?? null, shortFile: r?.shortFile ?? found?.locations[0]?.shortFile ?? null, line, ranges, ...(locations ? { locations } : {}) }));
        else {
          // Files as gdb and the REPL print them: relative to the build directory.
          for (const x of ranges) print(`Line ${line} of "${r!.shortFile}" starts at address ${x.start} and ends at ${x.end}.`);
          if (locations && (locations.length > 1 || ranges.length === 0)) {
            print(`${locations.length} breakpoint location${locations.length === 1 ? '' : 's'}:`);
            for (const l of locations) print(`  ${l.address} in ${l.function ?? '??'} at ${l.file}:${l.line}`);
          }
        }
      }),
    );
  sym
    .command('ptype')
    .argument('<vmlinux>').argument('<type>', "e.g. 'struct task_struct'")
    .option('--json', 'JSON output')
    .option('--flat', 'flatten anonymous members into dotted names')
    .description('a type layout with member offsets and sizes (like ptype/o)')
    .action((vmlinux: string, type: string, o: { json?: boolean; flat?: boolean }) =>
      withDwarf(vmlinux, async (d) => {
        const t = d instanceof SymbolsWithoutDwarf ? await d.ptype(type, Boolean(o.flat)) : await d.typeLayout(type, { flat: o.flat });
        if (o.json) return print(JSON.stringify(t));
        print(`/* offset | size */  type = ${t.name} {`);
        printMembers(t.members, 1);
        print(`                       /* total size (bytes): ${t.size} */\n}`);
      }),
    );
}

function printMembers(members: TypeMember[], depth: number): void {
  const pad = '    '.repeat(depth);
  for (const m of members) {
    const off = m.bitSize !== undefined ? `${m.offset}:${m.bitOffset}` : String(m.offset);
    const bits = m.bitSize !== undefined ? ` : ${m.bitSize}` : '';
    if (m.members) {
      print(`/* ${off.padStart(6)} | ${String(m.size).padStart(5)} */${pad}${m.type.replace(/\{\.\.\.\}$/, '')}{`);
      printMembers(m.members, depth + 1);
      print(`${' '.repeat(22)}${pad}}${m.name ? ` ${m.name}` : ''};`);
    } else print(`/* ${off.padStart(6)} | ${String(m.size).padStart(5)} */${pad}${declaration(m.type, m.name)}${bits};`);
  }
}

/** `char *name`, `char name[16]`, `void (*name)(int)`: the name goes where C puts it. */
function declaration(type: string, name: string): string {
  const fn = /^(.*)\(\*\)(\(.*\))$/.exec(type);
  if (fn) return `${fn[1]}(*${name})${fn[2]}`;
  const arr = /^(.*?) ?((\[\d*\])+)$/.exec(type);
  if (arr) return `${arr[1]} ${name}${arr[2]}`;
  return type.endsWith('*') ? `${type}${name}` : `${type} ${name}`;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function parseAddress(text: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new KdiveError(`not an address: '${text}' (use 0x... or decimal)`, 2);
  return BigInt(text);
}

/** The file's DWARF when it has some; else (a bzImage, a stripped vmlinux) its symbols or kallsyms with BTF. */
async function withDwarf(vmlinux: string, fn: (d: DwarfInfo | SymbolsWithoutDwarf) => Promise<void>): Promise<void> {
  const { elf } = await openKernelImage(vmlinux, new TerminalProgress());
  if (!elf.section('.debug_info')) {
    const without = new SymbolsWithoutDwarf(vmlinux, elf);
    try {
      return await fn(without);
    } finally {
      await without.close();
    }
  }
  try {
    const dwarf = await DwarfInfo.open(elf, () => SymbolTable.fromElf(elf));
    dwarf.progress = new TerminalProgress();
    await fn(dwarf);
  } finally {
    await elf.close();
  }
}
