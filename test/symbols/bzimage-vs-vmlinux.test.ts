import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { openKernelImage } from '../../src/symbols/image/index.js';
import { scratchDir } from '../support/own-resources.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

for (const { name: version, get } of DEBIAN_KERNELS) {
  test(`the vmlinux unpacked from the Debian ${version} vmlinuz has the .BTF, ORC and .rodata bytes of the debug vmlinux`, async (t) => {
    const kernel = await get();
    const dir = path.dirname(kernel.bzImage);
    // The unpacked vmlinux goes to a scratch cache, removed with this test's TMPDIR.
    const saved = process.env.KDIVE_CACHE;
    process.env.KDIVE_CACHE = scratchDir('kdive-extract-cache-');
    t.after(() => {
      if (saved === undefined) delete process.env.KDIVE_CACHE;
      else process.env.KDIVE_CACHE = saved;
    });
    const started = performance.now();
    const { elf: unpacked, extractedFrom } = await openKernelImage(path.join(dir, 'vmlinuz'));
    t.diagnostic(`unpacked and opened in ${Math.round(performance.now() - started)} ms`);
    assert.equal(extractedFrom, path.join(dir, 'vmlinuz'));
    const debug = await ElfFile.open(path.join(dir, 'vmlinux'));
    try {
      for (const name of ['.BTF', '.orc_unwind_ip', '.orc_unwind', '.rodata']) {
        const ours = unpacked.section(name);
        const theirs = debug.section(name);
        assert.ok(ours, `${name} is in the unpacked vmlinux`);
        assert.ok(theirs, `${name} is in the debug vmlinux`);
        assert.equal(ours.addr, theirs.addr, `${name} address`);
        assert.equal(ours.size, theirs.size, `${name} size`);
        assert.ok((await unpacked.readSection(ours)).equals(await debug.readSection(theirs)), `${name} bytes`);
        unpacked.forgetSection(ours);
        debug.forgetSection(theirs);
      }
    } finally {
      await unpacked.close();
      await debug.close();
    }
  });
}
