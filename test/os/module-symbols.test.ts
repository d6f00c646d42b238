import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { freeLoopbackPort } from '../../src/vm/free-port.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

/**
 * The cloud kernel's virtio-net driver is a module (loaded from the initramfs for --forward): a
 * breakpoint in vmlinux code it calls, a backtrace through two modules' code (ORC tables and
 * names read from the kernel's own module data), a breakpoint on a module function by name,
 * checked against the guest's /proc/kallsyms.
 */
for (const { name: version, get, qemu } of DEBIAN_KERNELS) {
  test(`${version}: modules: backtraces through module code with module names and ORC, and breakpoints on module functions`, async () => {
    const kernel = await get();
    const session = await Session.boot({
      kernel,
      qemu: await qemu(),
      guestCommand: 'grep -E " (virtnet_open|virtnet_probe)\\b" /proc/kallsyms',
      devices: { forwards: [{ hostPort: await freeLoopbackPort(), guestPort: 80 }] },
    });
    try {
      await session.addBreakpoint('register_netdevice');
      // The first registration is the loopback device at boot; virtio-net's comes with its insmod.
      let bt;
      let names: (string | undefined)[] = [];
      for (let i = 0; i < 5 && !names.includes('virtnet_probe [virtio_net]'); i++) {
        assert.equal((await session.resume()).kind, 'breakpoint');
        bt = await session.backtrace();
        names = bt.frames.filter((f) => !f.inlined).map((f) => (f.module ? `${f.function} [${f.module}]` : f.function));
      }
      bt = bt!;
      // virtio_net's probe, called from the virtio bus (another module), called from the driver core's probe...
      const probe = names.indexOf('virtnet_probe [virtio_net]');
      assert.ok(probe > 0, names.join(' < '));
      // 6.1's cloud kernel has the virtio bus as a module; 6.12's builds it in.
      assert.ok(names.slice(probe).includes(version === '6.1' ? 'virtio_dev_probe [virtio]' : 'virtio_dev_probe'), names.join(' < '));
      // ...down through insmod's finit_module to the syscall entry: the walk got through module code.
      assert.ok(names.includes('do_init_module'), names.join(' < '));
      assert.equal(names.at(-1), 'entry_SYSCALL_64', names.join(' < '));
      assert.equal(bt.end.reason, 'user');
      assert.ok(bt.frames.every((f) => f.reliable), 'every frame from an ORC entry, none guessed');
      await session.deleteBreakpoint(1);

      // virtio_net is loaded now: its functions are breakpoint locations, by name or module:name.
      const open = await session.resolveBreakLocation('virtnet_open');
      assert.equal(await session.resolveBreakLocation('virtio_net:virtnet_open'), open);
      const probeAt = await session.resolveBreakLocation('virtnet_probe');
      await session.addBreakpoint('virtio_net:virtnet_open');
      const opened = await session.resume(); // /init brings eth0 up
      assert.equal(opened.kind, 'breakpoint');
      assert.equal(opened.kind === 'breakpoint' && opened.pc, open);
      const top = (await session.backtrace()).frames[0]!;
      assert.equal(top.function, 'virtnet_open');
      assert.equal(top.module, 'virtio_net');
      assert.equal(top.offset, 0n);
      await session.deleteBreakpoint(2);
      let ev;
      do ev = await session.resume();
      while (ev.kind !== 'exit');
      assert.equal(ev.guestStatus, 0);
      // The kernel's own kallsyms are the oracle for the addresses.
      const console = session.vm!.consoleText();
      const kallsyms = (name: string) => BigInt(`0x${new RegExp(`^([0-9a-f]{16}) t ${name}\\s+\\[virtio_net\\]`, 'm').exec(console)?.[1] ?? '0'}`);
      assert.equal(kallsyms('virtnet_open'), open);
      assert.equal(kallsyms('virtnet_probe'), probeAt);
    } finally {
      await session.close();
    }
  });
}

for (const { name: version, spec, get, qemuFlags } of DEBIAN_KERNELS) {
  test(`${version}: kdive run --break MODULE:FUNCTION before the module loads: pending, set at its insmod, hit with the module named`, async () => {
    await get();
    const { runKdive } = await import('../support/cli-runner.js');
    const r = await runKdive(['run', '--kernel', spec, ...qemuFlags, '--json', '--forward', `${await freeLoopbackPort()}:80`, '--break', 'virtio_net:virtnet_probe', '--break', 'virtio_net:virtnet_open', '-g', 'true'], { timeoutMs: 400_000 });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; breakpoint?: string; frames?: { function: string | null; module?: string; offset: number | null }[]; guestStatus?: number });
    const stops = events.filter((e) => e.event === 'stop');
    // virtnet_probe runs inside insmod (from virtio_net's init), virtnet_open when /init brings eth0 up.
    assert.deepEqual(stops.map((e) => [e.frames![0]!.function, e.frames![0]!.module, e.frames![0]!.offset]), [['virtnet_probe', 'virtio_net', 0], ['virtnet_open', 'virtio_net', 0]]);
    assert.ok(stops[0]!.frames!.some((f) => f.function === 'do_init_module'), 'the probe is reached from the module load');
    assert.equal(events.at(-1)!.guestStatus, 0);
  });
}
