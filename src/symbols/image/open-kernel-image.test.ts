import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, KdiveError } from '../../errors.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { extractedVmlinuxPath, openKernelImage } from './open-kernel-image.js';
import { fakeVmlinux, kernelPayload, writeBzImage } from '../../../test/support/bzimage-writer.js';
import { scratchDir } from '../../../test/support/own-resources.js';

// The extracted vmlinux goes to $KDIVE_CACHE: a scratch one, whoever runs this file.
const cache = scratchDir('kdive-image-cache-');
process.env.KDIVE_CACHE = cache;

/** A ProgressReporter that records what it was told. */
function recordingProgress(): { progress: ProgressReporter; events: string[] } {
  const events: string[] = [];
  return {
    events,
    progress: {
      start: (label) => {
        events.push(`start ${label}`);
        return { update() {}, finish: () => events.push('finish'), fail: () => events.push('fail') };
      },
      note: (message) => events.push(`note ${message}`),
    },
  };
}

test('an ELF file is opened as it is', async () => {
  const file = path.join(scratchDir(), 'vmlinux');
  await writeFile(file, fakeVmlinux());
  const { elf, extractedFrom } = await openKernelImage(file);
  assert.equal(elf.path, file);
  assert.equal(extractedFrom, undefined);
  assert.ok(elf.section('.BTF'));
  await elf.close();
});

test('a bzImage is unpacked once into the cache, keyed by its content, then reused', async () => {
  const image = writeBzImage(kernelPayload('lz4', fakeVmlinux()));
  const file = path.join(scratchDir(), 'vmlinuz');
  await writeFile(file, image);
  const first = recordingProgress();
  const opened = await openKernelImage(file, first.progress);
  const target = extractedVmlinuxPath(image);
  assert.equal(path.dirname(path.dirname(path.dirname(target))), cache);
  assert.match(target, /[/]extracted[/][0-9a-f]{16}[/]vmlinux$/);
  assert.equal(opened.elf.path, target);
  assert.equal(opened.extractedFrom, file);
  assert.deepEqual(first.events, ['start unpacking vmlinux from vmlinuz', 'finish']);
  assert.deepEqual(readdirSync(path.dirname(target)), ['vmlinux'], 'no temporary file is left');
  await opened.elf.close();

  const second = recordingProgress();
  const again = await openKernelImage(file, second.progress);
  assert.equal(again.elf.path, target);
  assert.deepEqual(second.events, [], 'the cached vmlinux is reused without unpacking');
  await again.elf.close();
});

test('a bzImage that does not unpack fails its progress task and leaves nothing in the cache', async () => {
  const image = writeBzImage(Buffer.from('BZh91AY&SY not really'));
  const file = path.join(scratchDir(), 'vmlinuz-bzip2');
  await writeFile(file, image);
  const { progress, events } = recordingProgress();
  await assert.rejects(openKernelImage(file, progress), /compressed with bzip2, which kdive cannot unpack yet: pass --vmlinux/);
  assert.deepEqual(events, ['start unpacking vmlinux from vmlinuz-bzip2', 'fail']);
  assert.equal(existsSync(path.dirname(extractedVmlinuxPath(image))), false);
});

test('a file that is neither an ELF nor a bzImage is a FormatError saying so', async () => {
  const file = path.join(scratchDir(), 'notes.txt');
  await writeFile(file, 'just some text, long enough to not be mistaken for anything'.repeat(20));
  await assert.rejects(openKernelImage(file), (err: unknown) => err instanceof FormatError && /neither an ELF file .* nor an x86 bzImage/.test(err.message));
});

test('a missing file or a folder is one line', async () => {
  const dir = scratchDir();
  await assert.rejects(openKernelImage(path.join(dir, 'absent')), (err: unknown) => err instanceof FormatError && /absent: at offset 0x0: cannot open: ENOENT/.test(err.message));
  await mkdir(path.join(dir, 'folder'));
  await assert.rejects(openKernelImage(path.join(dir, 'folder')), (err: unknown) => err instanceof KdiveError && /a directory, not a kernel image/.test(err.message));
});

test('when the cache cannot be written, the unpacked vmlinux is opened from memory', async (t) => {
  const dir = scratchDir();
  const blocked = path.join(dir, 'cache-is-a-file');
  await writeFile(blocked, 'not a folder');
  process.env.KDIVE_CACHE = blocked;
  t.after(() => { process.env.KDIVE_CACHE = cache; });
  const file = path.join(dir, 'vmlinuz');
  await writeFile(file, writeBzImage(kernelPayload('gzip', fakeVmlinux())));
  const { elf, extractedFrom } = await openKernelImage(file);
  assert.equal(elf.path, file);
  assert.equal(extractedFrom, file);
  assert.ok(elf.section('.orc_unwind'));
});
