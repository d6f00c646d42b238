import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Session } from '../../src/session/session.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

/** `_text` as the running kernel itself reports it in /proc/kallsyms (the guest prints it). */
function kallsymsText(console: string): bigint | undefined {
  const m = /^([0-9a-f]{16}) T _text$/m.exec(console);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

for (const { name: version, get, qemu } of DEBIAN_KERNELS) {
  test(`${version}: with KASLR on, the slide found from the IDT equals the guest kallsyms one; a breakpoint by name hits and the backtrace is symbolized`, async () => {
    const kernel = await get();
    const linkText = BigInt(`0x${execFileSync('nm', [kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n').find((l) => / T _text$/.test(l))!.split(' ')[0]}`);
    let console = '';
    const session = await Session.boot({
      kernel,
      qemu: await qemu(),
      kaslr: true,
      guestCommand: 'grep -w _text /proc/kallsyms; mkdir /tmp/test',
      onConsole: (t) => (console += t),
    });
    try {
      const slide = session.symbols.slide;
      await session.addBreakpoint('do_mkdirat');
      const ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint', `stopped with ${JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
      // The line was printed before the mkdir; our read of QEMU's stdout may trail the stop a little.
      for (let i = 0; i < 100 && kallsymsText(console) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
      const guestText = kallsymsText(console);
      assert.ok(guestText !== undefined, `the guest printed _text:\n${console.slice(-2000)}`);
      assert.equal(slide, guestText - linkText);
      const bt = await session.backtrace();
      const names = bt.frames.map((f) => f.function);
      assert.equal(names[0], 'do_mkdirat');
      assert.ok(names.includes('entry_SYSCALL_64'), names.join(' <- '));
      assert.equal(bt.frames[0]!.file, 'fs/namei.c');
      const end = await session.resume();
      assert.equal(end.kind, 'exit');
    } finally {
      await session.close();
    }
  });
}
