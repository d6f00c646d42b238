import { KdiveError } from '../errors.js';
import type { ReplCommand } from './repl-command.js';

export const sessionCommands: ReplCommand[] = [
  {
    names: ['snapshot'],
    help: 'snapshot save|load|list [NAME]: live snapshots of the VM (save, crash it, load, go on)',
    async run(args, ctx) {
      const [action, name] = args.split(/\s+/);
      if (action === 'list') {
        const names = await ctx.session.listSnapshots();
        ctx.print(names.length ? names.join('\n') : 'No snapshots.');
      } else if ((action === 'save' || action === 'load') && name) {
        if (action === 'save') await ctx.session.saveSnapshot(name);
        else await ctx.session.loadSnapshot(name);
        ctx.print(action === 'save' ? `Saved snapshot ${name}.` : `Loaded snapshot ${name}; the kernel is stopped where it was saved.`);
        ctx.frame = 0;
      } else throw new KdiveError('usage: snapshot save NAME | snapshot load NAME | snapshot list');
    },
  },
  {
    names: ['detach'],
    help: 'detach: remove every breakpoint and let the kernel run on without the debugger',
    async run(_args, ctx) {
      // A refusal throws; the kernel is said to run on only once the stub confirmed it.
      const { leftInserted } = await ctx.session.detach();
      for (const point of leftInserted) ctx.print(`warning: could not remove the ${point}: it stays in the kernel`);
      ctx.print(`Detached; the kernel runs on.${ctx.session.vm ? ' (quit ends QEMU, which kdive booted.)' : ''}`);
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
