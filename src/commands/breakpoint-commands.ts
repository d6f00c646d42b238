import { KdiveError } from '../errors.js';
import { hex } from '../format/hex.js';
import type { WatchKind } from '../target/target.js';
import type { Breakpoint, BreakpointLocation } from '../session/breakpoints.js';
import type { ReplCommand, ReplContext } from './repl-command.js';

/** `do_mkdirat if dfd == -100` -> location and condition. */
function locationAndCondition(args: string): { location: string; condition?: string } {
  const m = /^(\S+)(?:\s+if\s+(.+))?$/.exec(args.trim());
  if (!m) throw new KdiveError('expected a location: FUNCTION, FILE:LINE or *ADDRESS');
  return { location: m[1]!, condition: m[2] };
}

async function setBreak(args: string, ctx: ReplContext, temporary: boolean, hardware: boolean): Promise<void> {
  if (!args) throw new KdiveError('expected a location: FUNCTION, FILE:LINE or *ADDRESS');
  const { location, condition } = locationAndCondition(args);
  const bp = await ctx.session.addBreakpoint(location, { temporary, kind: hardware ? 'hardware' : 'software', condition });
  if (bp.pending) {
    ctx.print(`${temporary ? 'Temporary breakpoint' : 'Breakpoint'} ${bp.id} (${location}) pending: module ${location.split(':')[0]} is not loaded; set when it loads.`);
    return;
  }
  ctx.print(breakpointSetMessage(bp, location, temporary ? 'Temporary breakpoint' : hardware ? 'Hardware assisted breakpoint' : 'Breakpoint'));
}

/** What gdb says of a new breakpoint: one location names its file and line, several repeat what was typed and count them. */
export function breakpointSetMessage(bp: Breakpoint, location: string, label = 'Breakpoint'): string {
  const head = `${label} ${bp.id} at ${hex(bp.address)}`;
  if (bp.locations.length > 1) return `${head}: ${location}. (${bp.locations.length} locations)`;
  const only = bp.locations[0];
  return `${head}${only?.file ? `: file ${only.file}, line ${only.line}.` : `: ${location}`}`;
}

/** `2`, `2.3` or `2.1-4` (gdb's location ranges) -> a breakpoint and, for N.M, its location numbers. */
function breakpointSpec(token: string): { id: number; locations?: number[] } {
  const m = /^(\d+)(?:\.(\d+)(?:-(\d+))?)?$/.exec(token);
  if (!m) throw new KdiveError(`expected breakpoint numbers, not '${token}'`);
  if (m[2] === undefined) return { id: Number(m[1]) };
  const from = Number(m[2]);
  const to = m[3] === undefined ? from : Number(m[3]);
  if (to < from) throw new KdiveError(`inverted breakpoint location range at '${token}'`);
  return { id: Number(m[1]), locations: Array.from({ length: to - from + 1 }, (_, i) => from + i) };
}

async function setEnabled(args: string, ctx: ReplContext, enabled: boolean): Promise<void> {
  const specs = args ? args.split(/\s+/).map(breakpointSpec) : ctx.session.breakpoints.all().map((b) => ({ id: b.id, locations: undefined }));
  for (const spec of specs) {
    if (!spec.locations) await ctx.session.setBreakpointEnabled(spec.id, enabled);
    else for (const n of spec.locations) await ctx.session.setBreakpointLocationEnabled(spec.id, n, enabled);
  }
}

function ids(args: string, ctx: ReplContext): number[] {
  if (!args) return ctx.session.breakpoints.all().map((b) => b.id);
  return args.split(/\s+/).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n)) throw new KdiveError(`expected breakpoint numbers, not '${t}'`);
    return n;
  });
}

function watch(kind: WatchKind, label: string): ReplCommand['run'] {
  return async (args, ctx) => {
    if (!args) throw new KdiveError('expected an expression to watch');
    const bp = await ctx.session.addWatchpoint(args, kind);
    ctx.print(`${label} ${bp.id}: ${args}`);
  };
}

export const breakpointCommands: ReplCommand[] = [
  { names: ['break', 'b', 'br'], help: 'break LOCATION [if COND]: FUNCTION, FILE:LINE or *ADDRESS', run: (a, ctx) => setBreak(a, ctx, false, false) },
  { names: ['tbreak', 'tb'], help: 'tbreak LOCATION [if COND]: a breakpoint deleted at its first stop', run: (a, ctx) => setBreak(a, ctx, true, false) },
  { names: ['hbreak', 'hb'], help: 'hbreak LOCATION [if COND]: a hardware breakpoint', run: (a, ctx) => setBreak(a, ctx, false, true) },
  { names: ['watch'], help: 'watch EXPR: stop when EXPR is written', run: watch('write', 'Hardware watchpoint') },
  { names: ['rwatch'], help: 'rwatch EXPR: stop when EXPR is read', run: watch('read', 'Hardware read watchpoint') },
  { names: ['awatch'], help: 'awatch EXPR: stop when EXPR is read or written', run: watch('access', 'Hardware access (read/write) watchpoint') },
  {
    names: ['delete', 'd'],
    help: 'delete [N...]: delete breakpoints (all without N)',
    async run(args, ctx) {
      for (const id of ids(args.replace(/^breakpoints?\s*/, ''), ctx)) await ctx.session.deleteBreakpoint(id);
    },
  },
  {
    names: ['disable'],
    help: 'disable [N|N.M...]: breakpoints, or single locations of a breakpoint with several',
    run: (args, ctx) => setEnabled(args, ctx, false),
  },
  {
    names: ['enable'],
    help: 'enable [N|N.M...]',
    run: (args, ctx) => setEnabled(args, ctx, true),
  },
  {
    names: ['condition'],
    help: 'condition N [EXPR]: stop at breakpoint N only when EXPR is non-zero',
    async run(args, ctx) {
      const m = /^(\d+)\s*(.*)$/.exec(args);
      const bp = m && ctx.session.breakpoints.get(Number(m[1]));
      if (!bp) throw new KdiveError(`no breakpoint number ${args.split(' ')[0] ?? ''}`);
      bp.condition = m![2] || undefined;
    },
  },
  {
    names: ['commands'],
    help: 'commands [N]: the lines that follow, up to "end", run each time breakpoint N (default: the last one) stops; "silent" first hides the stop, "continue" last resumes',
    async run(args, ctx) {
      const all = ctx.session.breakpoints.all();
      const id = args ? Number(args) : all[all.length - 1]?.id;
      if (id === undefined || !Number.isInteger(id) || !ctx.session.breakpoints.get(id)) throw new KdiveError(args ? `No breakpoint number ${args}.` : 'No breakpoints specified.');
      ctx.collecting = { breakpointId: id, lines: [] };
    },
  },
  {
    names: ['ignore'],
    help: 'ignore N COUNT: pass breakpoint N COUNT times',
    async run(args, ctx) {
      const m = /^(\d+)\s+(\d+)$/.exec(args);
      const bp = m && ctx.session.breakpoints.get(Number(m[1]));
      if (!bp) throw new KdiveError('usage: ignore N COUNT');
      bp.ignoreCount = Number(m![2]);
      ctx.print(`Will ignore next ${bp.ignoreCount} crossings of breakpoint ${bp.id}.`);
    },
  },
];

/** gdb's What column for a location: `in FUNC at FILE:LINE`, or what is known of it. */
function whatOf(loc: BreakpointLocation | undefined, fallback: string): string {
  if (!loc?.file) return loc?.function ? `<${loc.function}>` : fallback;
  return `${loc.function ? `in ${loc.function} at ` : ''}${loc.file}:${loc.line}`;
}

export function breakpointTable(ctx: Pick<ReplContext, 'session'> | { session: { breakpoints: { all(): Breakpoint[] } } }): string {
  const all = ctx.session.breakpoints.all();
  if (all.length === 0) return 'No breakpoints or watchpoints.';
  const rows = ['Num     Type           Disp Enb Address            What'];
  for (const b of all) {
    const type = b.watch ? (b.watch.kind === 'write' ? 'hw watchpoint' : b.watch.kind === 'read' ? 'read watchpoint' : 'acc watchpoint') : b.kind === 'hardware' ? 'hw breakpoint' : 'breakpoint';
    const head = `${String(b.id).padEnd(8)}${type.padEnd(15)}${(b.temporary ? 'del' : 'keep').padEnd(5)}${(b.enabled ? 'y' : 'n').padEnd(4)}`;
    const several = !b.watch && !b.pending && b.locations.length > 1;
    if (b.watch) rows.push(`${head}${''.padEnd(19)}${b.location}`);
    else if (b.pending) rows.push(`${head}${'<PENDING>'.padEnd(19)}${b.location}`);
    else if (several) rows.push(`${head}${'<MULTIPLE>'.padEnd(19)}`);
    else rows.push(`${head}${hex(b.address).padEnd(19)}${whatOf(b.locations[0], b.location)}`);
    if (b.condition) rows.push(`\tstop only if ${b.condition}`);
    if (b.hits) rows.push(`\tbreakpoint already hit ${b.hits} time${b.hits === 1 ? '' : 's'}`);
    if (b.ignoreCount) rows.push(`\tWill ignore next ${b.ignoreCount} crossings of breakpoint.`);
    for (const c of b.commands ?? []) rows.push(`        ${c}`);
    if (several) {
      // gdb's location rows: N.M, the location's own Enb, its address and where it is.
      b.locations.forEach((loc, i) => rows.push(`${`${b.id}.${i + 1}`.padEnd(28)}${(loc.enabled ? 'y' : 'n').padEnd(4)}${hex(loc.address).padEnd(19)}${whatOf(loc, b.location)}`));
    }
  }
  return rows.join('\n');
}

/** One line of a `commands` body; true when `end` closes it and the commands are set. */
export function collectCommandLine(ctx: ReplContext, line: string): boolean {
  const block = ctx.collecting!;
  if (line !== 'end') {
    if (line && !line.startsWith('#')) block.lines.push(line);
    return false;
  }
  const bp = ctx.session.breakpoints.get(block.breakpointId);
  if (bp) bp.commands = block.lines.length ? block.lines : undefined;
  ctx.collecting = undefined;
  return true;
}
