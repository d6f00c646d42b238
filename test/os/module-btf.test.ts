import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { KernelSymbols } from '../../src/session/kernel-symbols.js';
import { freeLoopbackPort } from '../../src/vm/free-port.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/**
 * Modules without DWARF: virtio_net (loaded from the initramfs for --forward) found by the
 * module's kallsyms, its function's arguments typed by the module's split BTF, read from the
 * kernel's own copy, and finish's value typed by the same prototype. The guest's /proc/kallsyms
 * gives the expected address.
 */
test('a module function from the bzImage alone: breakpoint by name, typed arguments from its split BTF, finish', async () => {
  const kernel = await getDebianKernel();
  let console = '';
  const session = await Session.boot({
    kernel: { ...kernel, vmlinux: undefined },
    symbols: await KernelSymbols.open(kernel.bzImage),
    guestCommand: 'grep -E " virtnet_open\\b" /proc/kallsyms | sed "s/^/KSYM /"',
    devices: { forwards: [{ hostPort: await freeLoopbackPort(), guestPort: 80 }] },
    onConsole: (t) => (console += t),
  });
  try {
    assert.equal(session.symbols.dwarf, undefined);
    // virtio_net loads during boot: stop once it is in (its probe registers the netdev), then break in it.
    await session.addBreakpoint('register_netdevice');
    for (let i = 0; i < 5; i++) {
      assert.equal((await session.resume()).kind, 'breakpoint');
      if ((await session.linux.modules()).some((m) => m.name === 'virtio_net')) break;
    }
    await session.deleteBreakpoint(1);
    await session.addBreakpoint('virtio_net:virtnet_open');
    const ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint');
    const bt = await session.backtrace();
    const top = bt.frames[0]!;
    assert.equal(`${top.function} [${top.module}]`, 'virtnet_open [virtio_net]');
    const rdi = (await session.registers()).get('rdi')!;
    assert.deepEqual(top.args, [{ name: 'dev', type: 'struct net_device *', value: `0x${rdi.toString(16)}` }]);
    assert.match((await session.print(`((struct net_device *)0x${rdi.toString(16)})->name`)).text, /^"eth0"/);
    const done = await session.finish();
    assert.equal(done.returnValue?.text, '0');
    // The address kdive stopped at is the one the guest's kallsyms gives virtnet_open.
    await session.deleteBreakpoint(2);
    assert.equal((await session.resume()).kind, 'exit');
    const listed = /^KSYM ([0-9a-f]+) t virtnet_open/m.exec(console);
    assert.ok(listed, console.slice(-2000));
    assert.equal(BigInt(`0x${listed[1]}`), ev.kind === 'breakpoint' ? ev.pc : -1n);
  } finally {
    await session.close();
  }
});
