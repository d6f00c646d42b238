import type { ReplCommand } from './repl-command.js';

export const sessionCommands: ReplCommand[] = [
  {
    names: ['detach'],
    help: 'detach: remove every breakpoint and let the kernel run on without the debugger',
    async run(_args, ctx) {
      await ctx.session.target.detach();
      ctx.print('Detached; the kernel runs on. (quit ends QEMU when kdive booted it.)');
    },
  },
  {
    names: ['kill', 'k'],
    help: 'kill: end the VM (QEMU) kdive booted',
    async run(_args, ctx) {
      if (!ctx.session.vm) return ctx.print('kdive did not boot this kernel: use detach');
      await ctx.session.vm.kill();
      ctx.print('[QEMU killed]');
    },
  },
  {
    names: ['quit', 'q', 'exit'],
    help: 'quit: end the session (and the VM kdive booted)',
    async run(_args, ctx) {
      ctx.quitting = true;
    },
  },
];
