import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Session } from '../../src/session/session.js';
import { buildInitramfs } from '../../src/rootfs/index.js';
import { launchQemu } from '../../src/vm/index.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

/** `kdive debug --attach`: a kernel someone else booted (KASLR on, running) is found, unwound, and left running without our breakpoints. */
test('attach to a running KASLR kernel: the slide matches the guest kallsyms, a breakpoint hits, close leaves it running', async () => {
  const kernel = await getDebianKernel();
  const dir = scratchDir('kdive-attach-test-');
  const initrd = path.join(dir, 'initramfs.cpio.gz');
  await buildInitramfs({ guestCommand: 'grep -w _text /proc/kallsyms; i=0; while [ $i -lt 40 ]; do mkdir /tmp/d$i && echo made-d$i; i=$((i+1)); sleep 1; done', out: initrd });
  const vm = await launchQemu({ kernel: kernel.bzImage, initrd, append: 'console=ttyS0 panic=-1', halted: false });
  try {
    const text = await new Promise<bigint>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no _text line on the console:\n${vm.consoleText().slice(-1500)}`)), 240_000);
      const check = () => {
        const m = /^([0-9a-f]{16}) T _text$/m.exec(vm.consoleText());
        if (m) {
          clearTimeout(timer);
          resolve(BigInt(`0x${m[1]}`));
        }
      };
      vm.onConsole(check);
      check();
    });
    const link = BigInt(`0x${execFileSync('nm', [kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n').find((l) => / T _text$/.test(l))!.split(' ')[0]}`);
    const session = await Session.attach({ host: vm.gdb.host, port: vm.gdb.port, vmlinux: kernel.vmlinux! });
    try {
      assert.equal(session.symbols.slide, text - link);
      await session.addBreakpoint('do_mkdirat');
      const ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint');
      const bt = await session.backtrace();
      assert.equal(bt.frames[0]!.function, 'do_mkdirat');
      assert.ok(bt.frames.some((f) => f.function === 'entry_SYSCALL_64'));
    } finally {
      await session.close();
    }
    // Detached: the guest goes on making directories; a breakpoint left behind would stop it at the next mkdir.
    const made = () => Math.max(-1, ...[...vm.consoleText().matchAll(/made-d(\d+)/g)].map((m) => Number(m[1])));
    const seen = made();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the guest made no directory after detach (last d${seen})`)), 120_000);
      vm.onConsole(() => {
        if (made() >= seen + 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await vm.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
