import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** One line on stderr, a usage-class exit, no QEMU left, no stack trace. */
function assertOneLine(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^using cached|^building initramfs/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('a forwarded port already in use on the host: one line naming it, before QEMU starts', async () => {
  await getDebianKernel();
  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const port = (busy.address() as net.AddressInfo).port;
  const before = qemuPids();
  try {
    const r = await runKdive(['run', '--forward', `${port}:80`, '-g', 'true']);
    assertOneLine(r, new RegExp(`^kdive: --forward ${port}:80: 127\\.0\\.0\\.1:${port} is already in use on the host$`));
    assert.equal(r.code, 2);
    assert.deepEqual(newQemuPids(before), []);
  } finally {
    busy.close();
  }
});

test('malformed device flags fail in one line: a bad forward, a missing shared folder, --root without a disk', async () => {
  for (const [args, pattern] of [
    [['--forward', '80'], /^kdive: --forward 80: expected HOSTPORT:GUESTPORT/],
    [['--forward', '70000:80'], /^kdive: --forward 70000:80: expected HOSTPORT:GUESTPORT/],
    [['--share', '/no/such/folder'], /^kdive: --share \/no\/such\/folder: \/no\/such\/folder is not a folder on the host$/],
    [['--root', '/dev/vda'], /^kdive: --root \/dev\/vda: no disk to boot from; add --disk IMAGE$/],
  ] as const) {
    const r = await runKdive(['run', ...args, '-g', 'true']);
    assertOneLine(r, pattern);
    assert.equal(r.code, 2, args.join(' '));
  }
});

test('a corrupt disk image is refused in one line and left byte for byte as it was', async () => {
  await getDebianKernel();
  const dir = scratchDir('kdive-baddisk-');
  const corrupt = path.join(dir, 'corrupt.qcow2');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'), Buffer.alloc(600, 0xff)]));
  const before = sha(corrupt);
  const pids = qemuPids();
  const r = await runKdive(['run', '--disk', corrupt, '--root', '/dev/vda', '-g', 'true']);
  assertOneLine(r, new RegExp(`^kdive: cannot read ${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  assert.equal(sha(corrupt), before);
  assert.deepEqual(newQemuPids(pids), []);
});

test('a kernel without the driver a device needs is refused from its .config, naming the option', async () => {
  const kernel = await getKgdbKernel(); // tinyconfig-based: no virtio networking at all
  const r = await runKdive(['run', '--kernel', kernel.spec, '--forward', '18099:80', '-g', 'true']);
  assertOneLine(r, /^kdive: --forward: kernel \S+ has no CONFIG_VIRTIO_(PCI|NET) \(not set in .*\.config\)/);
  assert.equal(r.code, 2);
});
