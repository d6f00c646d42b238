import { KdiveError } from '../errors.js';
import { hex } from '../format/hex.js';
import { formatDmesg } from '../os/linux/printk.js';
import type { ReplCommand } from './repl-command.js';

export const kernelCommands: ReplCommand[] = [
  {
    names: ['ps'],
    help: 'ps: the kernel\'s tasks (pid, state, cpu, comm), the running one on each CPU marked >',
    async run(_args, ctx) {
      const tasks = await ctx.session.linux.tasks();
      // No `current` to mark when the stopped CPU's gs_base is not the kernel's (user mode, early boot).
      const current = await ctx.session.currentTask().catch(() => undefined);
      ctx.print('    PID   TGID ST CPU TASK               COMM');
      for (const t of tasks) {
        const comm = t.kernelThread ? `[${t.comm}]` : t.comm;
        ctx.print(`${t.address === current ? '>' : ' '}${String(t.pid).padStart(6)} ${String(t.tgid).padStart(6)} ${t.state}  ${String(t.cpu).padStart(3)} ${hex(t.address).padEnd(18)} ${comm}`);
      }
    },
  },
  {
    names: ['dmesg'],
    help: 'dmesg [N]: the kernel log from the printk ring buffer (N: only the last N records)',
    async run(args, ctx) {
      const count = args.trim();
      if (count && !/^\d+$/.test(count)) throw new KdiveError(`usage: dmesg [N], N a number of records (not '${count}')`);
      const records = await ctx.session.linux.dmesg();
      // A record may hold several lines (a multi-line printk): N counts records, as dmesg | tail counts lines.
      for (const l of formatDmesg(count ? records.slice(-Number(count) || records.length) : records)) ctx.print(l);
    },
  },
  {
    names: ['lsmod'],
    help: 'lsmod: loaded modules',
    async run(_args, ctx) {
      const mods = await ctx.session.linux.modules();
      ctx.print('Module                  Size  Address');
      for (const m of mods) ctx.print(`${m.name.padEnd(20)}${String(m.size).padStart(8)}  ${hex(m.base)}`);
      if (mods.length === 0) ctx.print('(no modules loaded)');
    },
  },
  {
    names: ['uname'],
    help: 'uname: the running kernel\'s uname -a',
    async run(_args, ctx) {
      const u = await ctx.session.linux.uname();
      ctx.print(`${u.sysname} ${u.nodename} ${u.release} ${u.version} ${u.machine}`);
    },
  },
  {
    names: ['vtop'],
    help: 'vtop ADDRESS: walk the page tables of the selected CPU to the physical address',
    async run(args, ctx) {
      if (!args) throw new KdiveError('vtop needs an address');
      const v = await ctx.session.evaluate(args);
      const va = BigInt.asUintN(64, v.scalar ?? v.address ?? 0n);
      const regs = await ctx.session.registers();
      const t = await ctx.session.linux.vtop(va, regs.get('cr3')!, regs.get('cr4') ?? 0n);
      for (const l of t.levels) ctx.print(`${l.level.padEnd(4)} entry at pa ${hex(l.entryAddress)} = ${hex(l.entry)}`);
      ctx.print(`${hex(va)} -> pa ${hex(t.pa)} (${t.pageSize >= 1 << 30 ? '1 GiB' : t.pageSize >= 1 << 21 ? '2 MiB' : '4 KiB'} page)`);
    },
  },
  {
    names: ['monitor'],
    help: 'monitor CMD: a QEMU monitor command (info registers, info mtree...)',
    async run(args, ctx) {
      const out = await ctx.session.target.monitor(args);
      if (out) ctx.print(out.replace(/\n$/, ''));
    },
  },
];
