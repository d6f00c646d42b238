import { KdiveError } from '../errors.js';
import { hex } from '../format/hex.js';
import { sessionEngineSymbols } from '../session/expression-scope.js';
import type { ReplCommand, ReplContext } from './repl-command.js';
import { breakpointTable } from './breakpoint-commands.js';
import { formatFrameArgs, frameLine } from './stop-text.js';
import type { Frame } from '../session/frames.js';


async function selectFrame(ctx: ReplContext, index: number): Promise<void> {
  const bt = await ctx.session.backtrace(undefined, index + 2);
  const f = bt.frames[index];
  if (!f) throw new KdiveError(index < 0 ? 'Bottom (innermost) frame selected; you cannot go down.' : 'Initial frame selected; you cannot go up.');
  ctx.frame = index;
  ctx.print(frameLine(f, index, { callee: bt.frames[index - 1] }));
  if (f.file && f.line) {
    const text = ctx.source?.line(f.file, f.line);
    ctx.print(text !== undefined ? `${f.line}\t${text}` : `${f.line}\tin ${f.file}`);
    ctx.listed = { file: f.file, line: f.line };
  }
}

async function registers(ctx: ReplContext, which: string): Promise<void> {
  const regs = await ctx.session.registers();
  const arch = ctx.session.arch;
  const names = which ? which.split(/\s+/).map((r) => r.replace(/^\$/, '')) : arch.infoRegisters.filter((n) => regs.get(n) !== undefined);
  const symbolAt = sessionEngineSymbols(ctx.session.symbols).symbolAt;
  for (const name of names) {
    if (name === 'pc' || name === 'sp' || name === 'fp') return registers(ctx, arch[name]);
    const v = regs.get(name);
    if (v === undefined) throw new KdiveError(`Invalid register \`${name}'`);
    let natural: string;
    if (name === arch.pc) natural = `${hex(v)}${symbolAt(v) ? ` <${symbolAt(v)}>` : ''}`;
    else if (name === arch.sp || name === arch.fp) natural = hex(v);
    else if (name === 'eflags') natural = (await ctx.session.print('$eflags')).text;
    else natural = BigInt.asIntN(64, v).toString();
    ctx.print(`${name.padEnd(15)}${hex(v).padEnd(19)}${natural}`);
  }
}

/**
 * The address gdb gives a frame (its frame id's stack address): the CFA of its physical frame,
 * which is the sp of the first frame after its inline group; undefined for the outermost.
 */
function frameAddress(frames: Frame[], index: number): bigint | undefined {
  let end = index;
  while (frames[end]?.inlined) end++;
  return frames[end + 1]?.sp;
}

/** gdb's `info frame`: level and address, pc and saved pc, the frames it calls and is called by, arguments. */
export function infoFrameText(frames: Frame[], index: number): string {
  const f = frames[index]!;
  const at = frameAddress(frames, index);
  const lines = [`Stack level ${index}, frame at ${at === undefined ? '<unknown>' : hex(at)}:`];
  let end = index;
  while (frames[end]?.inlined) end++;
  const callerPc = frames[end + 1]?.pc;
  lines.push(` rip = ${hex(f.pc)}${f.function ? ` in ${f.function}` : ''}${f.file ? ` (${f.file}:${f.line})` : ''}${callerPc === undefined ? '' : `; saved rip = ${hex(callerPc)}`}`);
  const caller = frames[index + 1];
  const callee = index > 0 ? frameAddress(frames, index - 1) : undefined;
  const parts: string[] = [];
  if (caller) {
    const callerAt = frameAddress(frames, index + 1);
    parts.push(f.inlined ? ` inlined into frame ${index + 1}` : ` called by frame at ${callerAt === undefined ? '<unknown>' : hex(callerAt)}`);
  }
  if (callee !== undefined) parts.push(` caller of frame at ${hex(callee)}`);
  if (parts.length) lines.push(parts.join(','));
  if (f.file) lines.push(' source language c.');
  const args = formatFrameArgs(f.args).slice(1, -1);
  // gdb's amd64 frame base is 16 bytes below the CFA (return address and saved rbp); inlined frames have none.
  // An inlined frame shares its function's stack: its "previous sp" is where the frame it calls starts.
  if (f.inlined || at === undefined) lines.push(' Arglist at unknown address.', ` Locals at unknown address, Previous frame's sp is ${hex(f.sp)}`, ' Saved registers:', `  rip at ${hex(f.sp - 8n)}`);
  else lines.push(` Arglist at ${hex(at - 16n)}, args: ${args}`, ` Locals at ${hex(at - 16n)}, Previous frame's sp is ${hex(at)}`, ' Saved registers:', `  rip at ${hex(at - 8n)}`);
  return lines.join('\n');
}

export const stackCommands: ReplCommand[] = [
  {
    names: ['backtrace', 'bt', 'where'],
    help: 'backtrace [full] [N]: the stack of the selected CPU, with arguments (full: and locals)',
    async run(args, ctx) {
      const full = /\bfull\b/.test(args);
      const n = Number(/\d+/.exec(args)?.[0] ?? 64);
      // One physical frame more than asked: enough to know whether more follow.
      const bt = await ctx.session.backtrace(undefined, Math.max(n, 1) + 1);
      bt.frames.slice(0, n).forEach((f, i) => ctx.print(frameLine(f, i, { full, callee: bt.frames[i - 1] })));
      if (bt.frames.length > n) ctx.print('(More stack frames follow...)');
      else if (bt.end.user) ctx.print(`   (user space: rip=${hex(bt.end.user.ip)} rsp=${hex(bt.end.user.sp)}${bt.end.user.syscall !== undefined ? `, syscall ${bt.end.user.syscall}` : ''})`);
      else if (bt.end.reason === 'error') ctx.print(`Backtrace stopped: ${bt.end.detail ?? 'the unwinder could not go on'}`);
    },
  },
  { names: ['frame', 'f'], help: 'frame [N]: select and show frame N', run: (args, ctx) => selectFrame(ctx, args ? Number(args) : ctx.frame) },
  { names: ['up'], help: 'up [N]: select the caller', run: (args, ctx) => selectFrame(ctx, ctx.frame + (args ? Number(args) : 1)) },
  { names: ['down'], help: 'down [N]: select the callee', run: (args, ctx) => selectFrame(ctx, ctx.frame - (args ? Number(args) : 1)) },
  {
    names: ['thread'],
    help: 'thread [N]: select vCPU N (as info threads numbers them)',
    async run(args, ctx) {
      const threads = await ctx.session.threads();
      if (!args) {
        ctx.print(`[Current thread is ${ctx.session.selectedThread ?? threads[0]?.id ?? '?'}]`);
        return;
      }
      const t = threads[Number(args) - 1];
      if (!t) throw new KdiveError(`Invalid thread ID: ${args}`);
      ctx.session.selectedThread = t.id;
      ctx.frame = 0;
      ctx.print(`[Switching to thread ${args} (${t.description ?? t.id})]`);
    },
  },
  {
    names: ['info', 'i'],
    help: 'info registers|args|locals|frame|threads|breakpoints|symbol ADDR|line LOCATION',
    async run(args, ctx) {
      const [sub = '', ...rest] = args.split(/\s+/);
      const arg = rest.join(' ');
      if ('registers'.startsWith(sub) && sub.length >= 1) return registers(ctx, arg);
      if ('all-registers'.startsWith(sub) && sub.length >= 2) return registers(ctx, arg);
      if ('breakpoints'.startsWith(sub) || 'watchpoints'.startsWith(sub)) return ctx.print(breakpointTable(ctx));
      if ('threads'.startsWith(sub) && sub.length >= 2) {
        const threads = await ctx.session.threads();
        ctx.print('  Id   Target Id');
        threads.forEach((t, i) => ctx.print(`${t.id === (ctx.session.selectedThread ?? threads[0]!.id) ? '*' : ' '} ${String(i + 1).padEnd(4)} ${t.description ?? `Thread ${t.id}`}${t.cpu !== undefined ? ` (CPU ${t.cpu})` : ''}`));
        return;
      }
      // Two frames more than shown: a frame's address (its CFA) is its caller's sp, and gdb names the caller's too.
      const bt = await ctx.session.backtrace(undefined, ctx.frame + 3);
      const f = bt.frames[ctx.frame];
      if (!f) throw new KdiveError('No frame selected.');
      if ('args'.startsWith(sub) && sub.length >= 1) {
        if (!f.args?.length) ctx.print('No arguments.');
        for (const a of f.args ?? []) ctx.print(`${a.name} = ${a.value}`);
        return;
      }
      if ('locals'.startsWith(sub) && sub.length >= 2) {
        if (!f.locals?.length) ctx.print('No locals.');
        for (const a of f.locals ?? []) ctx.print(`${a.name} = ${a.value}`);
        return;
      }
      if ('frame'.startsWith(sub) && sub.length >= 1) {
        ctx.print(infoFrameText(bt.frames, ctx.frame));
        return;
      }
      if ('symbol'.startsWith(sub) && sub.length >= 2) {
        const v = await ctx.session.evaluate(arg);
        const a = BigInt.asUintN(64, v.scalar ?? v.address ?? 0n);
        const s = sessionEngineSymbols(ctx.session.symbols).symbolAt(a);
        ctx.print(s ? `${s.replace('+', ' + ')} in section .text` : `No symbol matches ${arg}.`);
        return;
      }
      if ('line'.startsWith(sub) && sub.length >= 2) return infoLine(ctx, arg);
      throw new KdiveError(`Undefined info command: "${args}".  Try "help info".`);
    },
  },
];

/** gdb's `info line [LOCATION]`: where a line's code is; no argument means the line at pc. */
async function infoLine(ctx: ReplContext, arg: string): Promise<void> {
  const names = sessionEngineSymbols(ctx.session.symbols);
  const at = (a: bigint): string => `${hex(a)}${names.symbolAt(a) ? ` <${names.symbolAt(a)}>` : ''}`;
  if (!arg || arg.startsWith('*')) {
    const pc = arg ? BigInt.asUintN(64, (await ctx.session.evaluate(arg.slice(1), { frame: ctx.frame })).scalar ?? 0n) : (await ctx.session.registers()).get(ctx.session.arch.pc)!;
    const l = await ctx.session.lineAt(pc);
    if (!l) throw new KdiveError(`No line number information available for address ${at(pc)}`);
    ctx.print(`Line ${l.line} of "${l.shortFile}" starts at address ${at(l.start)} and ends at ${at(l.end)}.`);
    return;
  }
  const where = await ctx.session.symbols.infoLine(/^\d+$/.test(arg) ? await ctx.session.lineInCurrentFile(Number(arg)) : arg);
  const r = where.ranges[0]!;
  ctx.print(`Line ${where.line} of "${where.shortFile}" starts at address ${at(r.start)} and ends at ${at(r.end)}.`);
}
