import { KdiveError } from '../../errors.js';
import { disassemble } from '../../arch/x86_64/disassembler.js';
import { sessionEngineSymbols } from '../../session/expression-scope.js';
import type { PrintFormat } from '../../expr/value-printer.js';
import type { ReplCommand, ReplContext } from './repl-command.js';
import { examine, parseExamineFormat, type ExamineFormat } from './memory-examine.js';

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

export const dataCommands: ReplCommand[] = [
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
      const pc = (await ctx.session.registers()).get('rip');
      for (const l of await examine(await addressOf(ctx, args), f, (a, n) => ctx.session.readMemory(a, n), symbolNamer(ctx), pc)) ctx.print(l);
    },
  },
  {
    names: ['disassemble'],
    help: 'disassemble [/r] [FUNCTION|ADDRESS]: the function around pc (or the one named)',
    async run(args, ctx, fmt) {
      const raw = fmt === 'r' || /^\/r\b/.test(args);
      const what = args.replace(/^\/r\s*/, '');
      const at = what ? await addressOf(ctx, what.includes('(') || /^[\d*$]/.test(what) ? what : `&${what}`).catch(async () => addressOf(ctx, what)) : (await ctx.session.registers()).get('rip')!;
      const slide = ctx.session.symbols.slide;
      const sym = ctx.session.symbols.table.symbolize(at - slide);
      if (!sym || sym.size === 0) throw new KdiveError(`No function contains specified address 0x${at.toString(16)}.`);
      const start = sym.address + slide;
      const code = await ctx.session.readMemory(start, sym.size);
      const pc = (await ctx.session.registers()).get('rip');
      ctx.print(`Dump of assembler code for function ${sym.name}:`);
      for (const i of disassemble(code, start, symbolNamer(ctx))) {
        const bytes = raw ? `\t${[...i.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')}` : '';
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
      if (args) {
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
