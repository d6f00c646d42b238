import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

/**
 * Kernel awareness against the guest's own view of itself, with KASLR on: the guest prints
 * uname -r, its ps and the start of its dmesg, then runs mkdir where kdive stops it.
 */
for (const { name: version, get, qemu } of DEBIAN_KERNELS) {
  test(`${version}: ps, dmesg, uname, lsmod and vtop agree with what the guest says of itself (KASLR on)`, async () => {
    const kernel = await get();
    let console = '';
    const session = await Session.boot({
      kernel,
      qemu: await qemu(),
      kaslr: true,
      guestCommand: 'echo "UNAME $(uname -r)"; ps -o pid,comm | sed "s/^/PS /"; echo PS-END; mkdir /tmp/test',
      onConsole: (t) => (console += t),
    });
    try {
      await session.addBreakpoint('do_mkdirat');
      const ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint');
      // The guest printed everything before its mkdir, but our read of QEMU's stdout may trail the stop.
      for (let i = 0; i < 100 && !console.includes('PS-END'); i++) await new Promise((r) => setTimeout(r, 100));
      const linux = session.linux;

      const uname = await linux.uname();
      assert.equal(uname.release, /^UNAME (\S+)/m.exec(console)?.[1]);
      assert.equal(uname.sysname, 'Linux');
      assert.equal(uname.machine, 'x86_64');

      const tasks = await linux.tasks();
      const current = await session.currentTask();
      const guestPs = [...console.matchAll(/^PS\s+(\d+)\s+(\S+)\s*$/gm)].map((m) => ({ pid: Number(m[1]), comm: m[2]! }));
      assert.ok(guestPs.length > 5, `the guest printed its ps:\n${console.slice(-3000)}`);
      for (const p of guestPs) {
        if (p.comm === 'ps' || p.comm === 'sed') continue; // gone by now
        const t = tasks.find((x) => x.pid === p.pid);
        assert.ok(t, `pid ${p.pid} (${p.comm}) is in kdive's task list`);
        if (t.address === current) continue; // the guest's shell has since exec'd mkdir
        // /proc adds a busy kworker's workqueue to its name (`kworker/0:0-rcu_gp`): the comm is the part before.
        // busybox ps may also cut a column short (`kthrotl` for kthrotld): then the guest's is a prefix.
        assert.ok(p.comm === t!.comm || p.comm.startsWith(`${t!.comm}-`) || (p.comm.length >= 6 && t!.comm.startsWith(p.comm)), `pid ${p.pid}: guest ${p.comm}, kdive ${t!.comm}`);
      }
      const me = tasks.find((t) => t.address === current);
      assert.equal(me?.comm, 'mkdir');
      assert.equal(me?.state, 'R');
      assert.ok(tasks.some((t) => t.pid === 1 && !t.kernelThread));
      assert.ok(tasks.some((t) => t.kernelThread && t.comm === 'kthreadd'));

      const dmesg = await linux.dmesgLines();
      assert.ok(dmesg.some((l) => l.includes('Run /init as init process')), 'dmesg has Run /init');
      // Every record the console printed is in the ring with the same text and timestamp.
      const consoleKernelLines = console.split(/\r?\n/).filter((l) => /^\[\s*\d+\.\d{6}\] /.test(l)).slice(0, 40);
      assert.ok(consoleKernelLines.length >= 20);
      for (const l of consoleKernelLines) assert.ok(dmesg.includes(l.replace(/\r$/, '')), `dmesg lacks console line: ${l}`);

      const mods = await linux.modules();
      assert.ok(Array.isArray(mods));

      // vtop: kernel image addresses map through phys_base, direct-map ones through page_offset_base.
      const regs = await session.registers();
      const cr3 = regs.get('cr3')!;
      const cr4 = regs.get('cr4')!;
      const physBase = (await session.evaluate('(unsigned long)phys_base')).scalar!;
      const initTask = (await session.evaluate('&init_task')).scalar!;
      assert.equal((await linux.vtop(initTask, cr3, cr4)).pa, BigInt.asUintN(64, initTask - 0xffffffff80000000n + physBase)); // phys_base can be "negative" with KASLR
      const pageOffsetBase = (await session.evaluate('page_offset_base')).scalar!;
      assert.equal((await linux.vtop(current, cr3, cr4)).pa, current - pageOffsetBase);
    } finally {
      await session.close();
    }
  });
}
