import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

test('kdive image rootfs + --disk --root /dev/vda: the guest runs on the disk, and what it writes is there at the next boot', async () => {
  await getDebianKernel();
  const dir = scratchDir('kdive-rootdisk-');
  const img = path.join(dir, 'root.qcow2');
  const token = randomBytes(8).toString('hex');
  writeFileSync(path.join(dir, 'seed.txt'), `seed-${token}\n`);
  const made = await runKdive(['image', 'rootfs', img, '--size', '128M', '--add', `${path.join(dir, 'seed.txt')}:/etc/seed.txt`]);
  assert.equal(made.code, 0, made.stderr);
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', img], { encoding: 'utf8' })) as { format: string; 'virtual-size': number };
  assert.equal(info.format, 'qcow2');
  assert.equal(info['virtual-size'], 128 << 20);

  // First boot: / must be the ext4 on /dev/vda (not the initramfs), holding the seeded file; write a second one.
  const first = await runKdive(['run', '--disk', img, '--root', '/dev/vda', '-g',
    `grep -q '^/dev/vda / ext4 ' /proc/mounts && grep -qx 'seed-${token}' /etc/seed.txt && echo boot-${token} > /persist.txt`], { timeoutMs: 400_000 });
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  // Second boot sees what the first wrote: the disk, not a throwaway copy, was the root.
  const second = await runKdive(['run', '--disk', img, '--root', '/dev/vda', '-g', `grep -qx 'boot-${token}' /persist.txt`], { timeoutMs: 400_000 });
  assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
  // And without --root the same command runs in the initramfs, where the file is not: status 1.
  const initramfs = await runKdive(['run', '--disk', img, '-g', `test -e /persist.txt`], { timeoutMs: 400_000 });
  assert.equal(initramfs.code, 1, initramfs.stderr);
  execFileSync('qemu-img', ['check', img]); // the image is sound after three boots
});
