import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { KernelSymbols } from '../../src/session/kernel-symbols.js';
import { locateStoppedKernel } from '../../src/os/linux/kaslr.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

/**
 * The kernel image alone (the bzImage: kallsyms, BTF and ORC inside it) against the -dbg vmlinux
 * (symbol table and DWARF) at one stop of one guest, so both read the same memory: every answer
 * BTF can give must be the DWARF session's answer.
 */
for (const { name: version, get, qemu } of DEBIAN_KERNELS) {
  test(`${version}: a session from the bzImage alone answers as the DWARF session at the same do_mkdirat stop (KASLR on)`, async () => {
    const kernel = await get();
    const session = await Session.boot({ kernel, kaslr: true, guestCommand: 'mkdir /tmp/test', qemu: await qemu() });
    const imageOnly = await KernelSymbols.open(kernel.bzImage);
    try {
      assert.equal(imageOnly.dwarf, undefined);
      assert.ok(imageOnly.btf, 'the bzImage carries BTF');
      assert.ok(imageOnly.table.symbols.length > 80_000, 'kallsyms named the kernel');
      await session.addBreakpoint('do_mkdirat');
      const ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint');

      // The slide, found again from the image's own symbols.
      const where = await locateStoppedKernel((a, n) => session.readMemory(a, n), imageOnly);
      assert.notEqual(session.symbols.slide, 0n);
      assert.equal(where.slide, session.symbols.slide);
      imageOnly.slide = where.slide;
      // A second view of the same stopped target: it reads, it is never resumed nor closed.
      const btf = Session.fromTarget(session.target, imageOnly);

      const [withDwarf, fromBtf] = [await session.backtrace(), await btf.backtrace()];
      const physical = (frames: typeof withDwarf.frames) => frames.filter((f) => !f.inlined).map((f) => f.function);
      assert.deepEqual(physical(fromBtf.frames), physical(withDwarf.frames));
      assert.equal(fromBtf.frames[0]!.function, 'do_mkdirat');
      assert.equal(fromBtf.frames.at(-1)!.function, 'entry_SYSCALL_64');
      // At the entry, the arguments from the BTF prototype: DWARF's names, types and values.
      const args = (f: (typeof withDwarf.frames)[0]) => f.args?.map((a) => `${a.type} ${a.name}=${a.value}`);
      assert.deepEqual(args(fromBtf.frames[0]!), args(withDwarf.frames[0]!));
      assert.match(args(fromBtf.frames[0]!)!.join(', '), /^int dfd=-100, struct filename \* name=0x[0-9a-f]+, umode_t mode=511$/);

      for (const e of ['current->comm', '$lx_current()->mm->mmap_base', '*(struct filename *)$rsi', 'init_task.comm', '$lx_current()->pid', 'sizeof(struct task_struct)', '&init_task.tasks', '(char)current->comm[0]', 'current->mm->mm_users']) {
        assert.equal((await btf.print(e)).text, (await session.print(e)).text, `print ${e}`);
      }
      for (const t of ['struct filename', 'current->mm', 'struct list_head', 'init_task.sched_class']) {
        assert.equal(await btf.describeType(t, { expand: true }), await session.describeType(t, { expand: true }), `ptype ${t}`);
      }

      assert.deepEqual(await btf.linux.tasks(), await session.linux.tasks());
      assert.ok((await btf.linux.tasks()).some((t) => t.comm === 'mkdir'));
      assert.deepEqual(await btf.linux.dmesgLines(), await session.linux.dmesgLines());
      assert.deepEqual(await btf.linux.modules(), await session.linux.modules());
      assert.deepEqual(await btf.linux.uname(), await session.linux.uname());
    } finally {
      await imageOnly.close();
      await session.close();
    }
  });
}
