import { KdiveError } from '../errors.js';
import type { ReplCommand, ReplContext } from './repl-command.js';
import { frameLine, printStop, reportStop } from './stop-text.js';

function count(args: string): number {
  if (!args) return 1;
  const n = Number(args);
  if (!Number.isInteger(n) || n < 1) throw new KdiveError(`expected a repeat count, not '${args}'`);
  return n;
}

async function repeat(ctx: ReplContext, n: number, one: () => ReturnType<ReplContext['session']['resume']>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ev = await one();
    if (i === n - 1 || ev.kind !== 'stop' || ev.reason !== 'trap') return printStop(ev, ctx);
  }
}

export const executionCommands: ReplCommand[] = [
  {
    names: ['continue', 'c', 'cont', 'fg'],
    help: 'continue [N] [&]: resume the kernel (N: ignore the current breakpoint N-1 more times; &: in the background, the prompt stays)',
    async run(args, ctx) {
      const background = /&\s*$/.test(args);
      if (background) args = args.replace(/&\s*$/, '').trim();
      const n = count(args);
      const last = ctx.session.breakpoints.all().find((b) => b.hits > 0 && n > 1);
      if (last) {
        last.ignoreCount = n - 1;
        ctx.print(`Will ignore next ${n - 1} crossings of breakpoint ${last.id}.  Continuing.`);
      } else ctx.print('Continuing.');
      const run = async () => {
        let event = await ctx.session.resume();
        while (await reportStop(event, ctx)) event = await ctx.session.resume();
      };
      if (!background) return run();
      // gdb's background execution: the stop is printed when it comes, and the prompt shown again.
      ctx.background = run()
        .catch((err: unknown) => ctx.print(err instanceof Error ? err.message : String(err)))
        .finally(() => {
          ctx.background = undefined;
          ctx.prompt?.();
        });
    },
  },
  {
    names: ['interrupt'],
    help: 'interrupt: stop a kernel running in the background (continue &)',
    async run(_args, ctx) {
      const running = ctx.background;
      if (!ctx.session.isRunning || !running) throw new KdiveError('The kernel is not being run.');
      await ctx.session.interrupt();
      await running; // the stop is printed by the background run
    },
  },
  {
    names: ['step', 's'],
    help: 'step [N]: to the next source line, entering calls',
    run: (args, ctx) => repeat(ctx, count(args), () => ctx.session.stepLine({ over: false })),
  },
  {
    names: ['next', 'n'],
    help: 'next [N]: to the next source line, over calls',
    run: (args, ctx) => repeat(ctx, count(args), () => ctx.session.stepLine({ over: true })),
  },
  {
    names: ['stepi', 'si'],
    help: 'stepi [N]: one instruction',
    run: (args, ctx) => repeat(ctx, count(args), () => ctx.session.stepInstruction()),
  },
  {
    names: ['nexti', 'ni'],
    help: 'nexti [N]: one instruction, over calls',
    run: (args, ctx) => repeat(ctx, count(args), () => ctx.session.stepInstruction({ over: true })),
  },
  {
    names: ['finish', 'fin'],
    help: 'finish: run until the selected frame returns; print the value it returns',
    async run(_args, ctx) {
      // A frame more than the one finished: its caller's call site gives the entry values gdb prints.
      const bt = await ctx.session.backtrace(undefined, ctx.frame + 2);
      const f = bt.frames[ctx.frame];
      if (f) ctx.print(`Run till exit from ${frameLine(f, ctx.frame, { callee: bt.frames[ctx.frame - 1] })}`);
      const { event, returnValue } = await ctx.session.finish({ frame: ctx.frame });
      await printStop(event, ctx);
      if (returnValue && event.kind === 'stop') {
        // A return type the expression engine cannot cast to (an anonymous struct): the value is shown
        // as finish computed it, without a $N history number.
        const numbered = await ctx.session.print(`(${returnValue.type})$${ctx.session.arch.returnRegister}`).catch(() => undefined);
        ctx.print(`Value returned is ${numbered ? `$${numbered.number} = ${numbered.text}` : returnValue.text}`);
      }
    },
  },
  {
    names: ['until', 'u'],
    help: 'until LOCATION: run until LOCATION or until the current frame returns',
    async run(args, ctx) {
      if (!args) return printStop(await ctx.session.stepLine({ over: true }), ctx);
      await printStop(await ctx.session.runUntil(args), ctx);
    },
  },
  {
    names: ['advance'],
    help: 'advance LOCATION: run until LOCATION (or the current frame returns)',
    async run(args, ctx) {
      if (!args) throw new KdiveError('advance needs a location');
      await printStop(await ctx.session.runUntil(args), ctx);
    },
  },
];
