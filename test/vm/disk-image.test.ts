import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

test('kdive image/snapshot: a qcow2 image is created, snapshotted, listed, reverted, resized, as qemu-img itself reports', async () => {
  const dir = scratchDir('kdive-image-');
  const img = path.join(dir, 'disk.qcow2');
  assert.equal((await runKdive(['image', 'create', img, '64M'])).code, 0);
  await runKdive(['snapshot', 'save', img, 'clean']);
  await runKdive(['snapshot', 'save', img, 'second']);
  const listed = await runKdive(['snapshot', 'list', img]);
  assert.deepEqual(listed.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['clean', 'second']);
  // qemu-img is the oracle for what is in the file.
  const oracle = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', img], { encoding: 'utf8' })) as { format: string; 'virtual-size': number; snapshots: { name: string }[] };
  assert.equal(oracle.format, 'qcow2');
  assert.equal(oracle['virtual-size'], 64 << 20);
  assert.deepEqual(oracle.snapshots.map((s) => s.name), ['clean', 'second']);
  assert.equal((await runKdive(['snapshot', 'load', img, 'clean'])).code, 0);
  assert.equal((await runKdive(['snapshot', 'delete', img, 'second'])).code, 0);
  assert.equal((await runKdive(['image', 'resize', img, '128M'])).code, 0);
  const info = JSON.parse((await runKdive(['image', 'info', img, '--json'])).stdout) as { virtualSize: number; snapshots: { name: string }[] };
  assert.equal(info.virtualSize, 128 << 20);
  assert.deepEqual(info.snapshots.map((s) => s.name), ['clean']);
});

test('bad images and snapshot names: one line, non-zero exit, the image untouched', async () => {
  const dir = scratchDir('kdive-image-bad-');
  const img = path.join(dir, 'disk.qcow2');
  await runKdive(['image', 'create', img, '16M']);
  const before = sha(img);
  const missing = await runKdive(['snapshot', 'load', img, 'no-such-snapshot']);
  assert.notEqual(missing.code, 0);
  assert.equal(missing.stderr.trim(), `kdive: ${img} has no snapshot named 'no-such-snapshot'`);
  assert.equal(sha(img), before);

  const corrupt = path.join(dir, 'corrupt.qcow2');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'), Buffer.alloc(600, 0xff)]));
  const corruptBefore = sha(corrupt);
  for (const args of [['snapshot', 'save', corrupt, 'x'], ['image', 'info', corrupt], ['image', 'resize', corrupt, '1G']]) {
    const r = await runKdive(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^kdive: cannot read ${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    assert.equal(sha(corrupt), corruptBefore);
  }
  const raw = path.join(dir, 'raw.img');
  writeFileSync(raw, Buffer.alloc(1 << 20));
  const r = await runKdive(['snapshot', 'save', raw, 'x']);
  assert.equal(r.stderr.trim(), `kdive: ${raw} is a raw image: snapshots need qcow2`);
});
