import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { kdiveCacheDir } from '../../src/cache-dir.js';
import { isCompleteKernelDir } from '../../src/kernels/debian-kernel.js';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { openKernelImage } from '../../src/symbols/image/index.js';
import { scratchDir } from '../support/own-resources.js';

/**
 * A cached Debian cloud kernel with its debug vmlinux (kdive kernel fetch debian:cloud-amd64 puts it
 * there), the last by name; undefined when there is none. Looked up without the network: this test
 * compares two files and needs nothing fetched to mean something.
 */
function cachedDebianKernelDir(): string | undefined {
  const kernels = path.join(kdiveCacheDir(), 'kernels');
  let entries: string[];
  try {
    entries = readdirSync(kernels);
  } catch {
    return undefined;
  }
  const complete = entries.filter((e) => /^linux-image-.*-cloud-amd64_/.test(e)).sort().reverse().map((e) => path.join(kernels, e));
  return complete.find((dir) => isCompleteKernelDir(dir));
}

test('the vmlinux unpacked from the Debian vmlinuz has the .BTF, ORC and .rodata bytes of the debug vmlinux', async (t) => {
  const dir = cachedDebianKernelDir();
  if (!dir) {
    t.skip(`no Debian cloud kernel with its debug vmlinux under ${path.join(kdiveCacheDir(), 'kernels')}: run \`kdive kernel fetch debian:cloud-amd64\``);
    return;
  }
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
