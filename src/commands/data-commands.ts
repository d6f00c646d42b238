import { KdiveError } from '../errors.js';
import { hex } from '../format/hex.js';
import { disassemble } from '../arch/x86_64/disassembler.js';
import { sessionEngineSymbols } from '../session/expression-scope.js';
import type { PrintFormat } from '../expr/value-printer.js';
import type { ReplCommand, ReplContext } from './repl-command.js';
import { examine, parseExamineFormat, type ExamineFormat } from './memory-examine.js';
import { formatPrintf, splitPrintfLine, unescapeC } from './printf-format.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';

let lastExamine: ExamineFormat | undefined;

function printFormat(fmt: string | undefined): PrintFormat {
  if (!fmt) return undefined;
  if (!/^[xduotcasz]$/.test(fmt)) throw new KdiveError(`undefined output format '${fmt}'`);
  return fmt as PrintFormat;
}

async function addressOf(ctx: ReplContext, expr: string): Promise<bigint> {
  const v = await ctx.session.evaluate(expr, { frame: ctx.frame });
  if (v.scalar !== undefined) return BigInt.asUintN(64, v.scalar);
  if (v.address !== undefined) return v.address;
  throw new KdiveError(`'${expr}' is not an address`);
}

function symbolNamer(ctx: ReplContext): (a: bigint) => string | undefined {
  const names = sessionEngineSymbols(ctx.session.symbols);
  return (a) => names.symbolAt(a);
}

/** A C string for printf's %s: a char array in place, or what a char pointer points to (up to 4 KiB). */
async function readCString(ctx: ReplContext, v: EvaluatedValue): Promise<string> {
  const start = /\]$/.test(v.type) ? v.address : v.scalar !== undefined ? BigInt.asUintN(64, v.scalar) : undefined;
  if (start === undefined) throw new KdiveError(`printf: %s needs a char array or pointer, not ${v.type}`);
  const parts: Buffer[] = [];
  for (let at = start; at < start + 4096n; at += 256n) {
    const chunk = await ctx.session.readMemory(at, 256);
    const nul = chunk.indexOf(0);
    parts.push(nul < 0 ? chunk : chunk.subarray(0, nul));
    if (nul >= 0) break;
  }
  return Buffer.concat(parts).toString('latin1');
}

/** An instruction's bytes as gdb's /r shows them: hex pairs, padded to a 6-byte column. */
function rawBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(19);
}

/** gdb's `disassemble START,END` and `START,+LENGTH`: instructions named `<function+offset>`. */
async function disassembleRange(ctx: ReplContext, startExpr: string, endExpr: string, relative: boolean, raw: boolean): Promise<void> {
  const start = await addressOf(ctx, startExpr);
  const endValue = await addressOf(ctx, endExpr);
  const end = relative ? start + endValue : endValue;
  if (end <= start) throw new KdiveError(`disassemble: the range ${hex(start)},${hex(end)} is empty`);
  if (end - start > 0x10000n) throw new KdiveError('disassemble: a range is at most 64 KiB');
  // Read a little past the end so the last instruction that starts in the range decodes whole.
  const code = await ctx.session.readMemory(start, Number(end - start) + 15);
  const pc = (await ctx.session.registers()).get(ctx.session.arch.pc);
  const names = symbolNamer(ctx);
  ctx.print(`Dump of assembler code from ${hex(start)} to ${hex(end)}:`);
  for (const i of disassemble(code, start, names)) {
    if (i.address >= end) break;
    // gdb names every instruction of a range `<function+offset>`, +0 included.
    const name = names(i.address);
    const label = name ? ` <${name.includes('+') ? name : `${name}+0`}>` : '';
    ctx.print(`${i.address === pc ? '=> ' : '   '}${hex(i.address)}${label}:${raw ? `\t${rawBytes(i.bytes)}` : ''}\t${i.text}`);
  }
  ctx.print('End of assembler dump.');
}

export const dataCommands: ReplCommand[] = [
  {
    names: ['printf'],
    help: 'printf "FORMAT", ARG...: C conversions (%d %u %x %lx %s %c %p, widths and flags) over kernel values',
    async run(args, ctx) {
      const { format, args: exprs } = splitPrintfLine(args);
      const values = [];
      for (const e of exprs) {
        // A string literal has no address in the guest: its text is the string.
        const literal = /^"((?:[^"\\]|\\.)*)"$/.exec(e);
        if (literal) {
          values.push({ string: async () => unescapeC(literal[1]!) });
          continue;
        }
        const v = await ctx.session.evaluate(e, { frame: ctx.frame });
        values.push({ scalar: v.scalar, string: () => readCString(ctx, v) });
      }
      ctx.write(await formatPrintf(format, values));
    },
  },
  {
    names: ['echo'],
    help: 'echo TEXT: TEXT with C escapes (\\n for a newline)',
    async run(args, ctx) {
      ctx.write(unescapeC(args));
    },
  },
  {
    names: ['print', 'p', 'inspect', 'call'],
    help: 'print[/FMT] EXPR: a C expression over the kernel\'s types (FMT: x d u o t c a s z)',
    async run(args, ctx, fmt) {
      const r = await ctx.session.print(args || '$', { frame: ctx.frame, format: printFormat(fmt) });
      ctx.print(`$${r.number} = ${r.text}`);
    },
  },
  {
    names: ['output'],
    help: 'output EXPR: the value alone',
    async run(args, ctx, fmt) {
      ctx.print((await ctx.session.evaluate(args, { frame: ctx.frame, format: printFormat(fmt) })).text);
    },
  },
  {
    names: ['ptype'],
    help: 'ptype EXPR|TYPE: the type, structs expanded',
    async run(args, ctx) {
      ctx.print(`type = ${await ctx.session.describeType(args, { frame: ctx.frame, expand: true })}`);
    },
  },
  {
    names: ['whatis'],
    help: 'whatis EXPR|TYPE: the type name',
    async run(args, ctx) {
      ctx.print(`type = ${await ctx.session.describeType(args, { frame: ctx.frame })}`);
    },
  },
  {
    names: ['x'],
    help: 'x/FMT ADDRESS: examine memory (FMT: count, format x d u o t a c s i z, size b h w g)',
    async run(args, ctx, fmt) {
      if (!args) throw new KdiveError('x needs an address expression');
      const f = parseExamineFormat(fmt, lastExamine);
      lastExamine = f;
      const pc = (await ctx.session.registers()).get(ctx.session.arch.pc);
      for (const l of await examine(await addressOf(ctx, args), f, (a, n) => ctx.session.readMemory(a, n), symbolNamer(ctx), pc)) ctx.print(l);
    },
  },
  {
    names: ['dump'],
    help: 'dump [binary] memory FILE START END: write the memory from START up to END to FILE',
    async run(args, ctx) {
      const m = /^(?:binary\s+)?memory\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(args);
      if (!m) throw new KdiveError('usage: dump [binary] memory FILE START END (kdive writes raw binary only)');
      const [start, end] = [await addressOf(ctx, m[2]!), await addressOf(ctx, m[3]!)];
      const t0 = performance.now();
      const n = await ctx.session.dumpMemory(m[1]!, start, end);
      ctx.print(`${n} bytes written to ${m[1]} (${(n / 1048576 / ((performance.now() - t0) / 1000)).toFixed(0)} MB/s)`);
    },
  },
  {
    names: ['disassemble'],
    help: 'disassemble [/r] [FUNCTION|ADDRESS|START,END|START,+LENGTH]: the function around pc (or the one named), or a range',
    async run(args, ctx, fmt) {
      const raw = fmt === 'r' || /^\/r\b/.test(args);
      const what = args.replace(/^\/r\s*/, '');
      const range = /^(.+?),\s*(\+)?(.+)$/.exec(what);
      if (range) return disassembleRange(ctx, range[1]!, range[3]!, range[2] === '+', raw);
      const at = what ? await addressOf(ctx, what.includes('(') || /^[\d*$]/.test(what) ? what : `&${what}`).catch(async () => addressOf(ctx, what)) : (await ctx.session.registers()).get(ctx.session.arch.pc)!;
      const sym = ctx.session.symbols.functionAt(at);
      if (!sym || sym.size === 0) throw new KdiveError(`No function contains specified address 0x${at.toString(16)}.`);
      const start = sym.start;
      const code = await ctx.session.readMemory(start, sym.size);
      const pc = (await ctx.session.registers()).get(ctx.session.arch.pc);
      ctx.print(`Dump of assembler code for function ${sym.name}:`);
      for (const i of disassemble(code, start, symbolNamer(ctx))) {
        const bytes = raw ? `\t${rawBytes(i.bytes)}` : '';
        ctx.print(`${i.address === pc ? '=> ' : '   '}0x${i.address.toString(16)} <+${i.address - start}>:${bytes}\t${i.text}`);
      }
      ctx.print('End of assembler dump.');
    },
  },
  {
    names: ['list', 'l'],
    help: 'list [FUNCTION|FILE:LINE]: source lines (needs --source)',
    async run(args, ctx) {
      if (!ctx.source) throw new KdiveError('no source tree: start kdive debug with --source DIR (or --source debian)');
      let file: string;
      let line: number;
      if (/^\d+$/.test(args)) {
        // A bare number: that line of the file last shown (or the one stopped in).
        file = ctx.listed?.file ?? (await ctx.session.lineInCurrentFile(1)).replace(/:1$/, '');
        line = Math.max(1, Number(args) - 5);
      } else if (args) {
        const where = await ctx.session.symbols.dwarf!.infoLine(args);
        file = where.file;
        line = Math.max(1, where.line - 5);
      } else if (ctx.listed) {
        file = ctx.listed.file;
        line = ctx.listed.line;
        line = Math.max(1, line - 5);
      } else throw new KdiveError('no default source file: stop somewhere first, or say list FUNCTION');
      for (let n = line; n < line + 10; n++) {
        const text = ctx.source.line(file, n);
        if (text === undefined) break;
        ctx.print(`${n}\t${text}`);
      }
      ctx.listed = { file, line: line + 15 };
    },
  },
];
