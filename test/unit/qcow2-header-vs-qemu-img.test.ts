import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readQcow2Header } from '../../src/vm/qcow2-header-file.js';
import { imageInfo } from '../../src/vm/disk-image.js';
import { scratchDir } from '../support/own-resources.js';

/** qemu-img's view of an image, the oracle for what the header checker reads. */
interface QemuImgInfo {
  'virtual-size': number;
  'cluster-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  snapshots?: unknown[];
  'format-specific': { data: { compat: string; 'refcount-bits': number; 'compression-type': string; 'extended-l2'?: boolean; corrupt?: boolean } };
}

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });

test('images qemu-img creates pass the header check, which reads them as qemu-img info does', async () => {
  const dir = scratchDir('kdive-qcow2-');
  const file = (name: string) => path.join(dir, name);
  const images: [string, string[]][] = [
    ['plain.qcow2', ['64M']],
    ['backed.qcow2', ['-b', file('plain.qcow2'), '-F', 'qcow2']],
    ['v2-small-clusters.qcow2', ['-o', 'compat=0.10,cluster_size=512', '100M']],
    ['big-clusters.qcow2', ['-o', 'cluster_size=256K,extended_l2=on,compression_type=zstd,refcount_bits=64,lazy_refcounts=on', '1G']],
    ['snapshotted.qcow2', ['1G']],
  ];
  for (const [name, args] of images) qemuImg('create', '-q', '-f', 'qcow2', file(name), ...args);
  qemuImg('snapshot', '-c', 'first', file('snapshotted.qcow2'));
  qemuImg('snapshot', '-c', 'second', file('snapshotted.qcow2'));

  for (const [name] of images) {
    const info = JSON.parse(qemuImg('info', '--output=json', file(name))) as QemuImgInfo;
    const data = info['format-specific'].data;
    const summary = (await readQcow2Header(file(name)))!;
    assert.deepEqual(
      {
        virtualSize: summary.virtualSize, clusterSize: 2 ** summary.clusterBits, backingFile: summary.backingFile, backingFormat: summary.backingFormat,
        snapshots: summary.snapshots, version: summary.version, refcountBits: summary.refcountBits, compressionType: summary.compressionType,
        extendedL2: summary.incompatibleFeatures.includes('extended L2 entries'), corrupt: summary.incompatibleFeatures.includes('corrupt'),
      },
      {
        virtualSize: BigInt(info['virtual-size']), clusterSize: info['cluster-size'], backingFile: info['backing-filename'], backingFormat: info['backing-filename-format'],
        snapshots: info.snapshots?.length ?? 0, version: data.compat === '0.10' ? 2 : 3, refcountBits: data['refcount-bits'], compressionType: data['compression-type'],
        extendedL2: data['extended-l2'] ?? false, corrupt: data.corrupt ?? false,
      },
      name,
    );
  }
});

test('a corrupt qcow2 header: imageInfo refuses it in one line naming the field, before qemu-img runs', async () => {
  const dir = scratchDir('kdive-qcow2-bad-');
  const good = path.join(dir, 'good.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', good, '64M');
  const header = readFileSync(good);
  const cases: [number, Buffer, RegExp][] = [
    [20, Buffer.from([0, 0, 0, 30]), /at offset 0x14: cluster_bits 30: not in 9\.\.21/],
    [40, Buffer.from([0, 0, 0, 0, 0, 0, 0x12, 0x34]), /at offset 0x28: l1_table_offset 0x1234: not a multiple of the cluster size \(65536\)/],
    [48, Buffer.from([0, 0, 0, 0, 0x40, 0, 0, 0]), /at offset 0x30: refcount_table_offset 0x40000000: a table of 65536 bytes that runs past the end of the file/],
    [72, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x20]), /at offset 0x48: incompatible_features 0x20: unknown feature bit 5 set/],
    [36, Buffer.from([0, 0, 0, 0]), /at offset 0x24: l1_size 0: too small for size 67108864 \(1 entries needed\)/],
  ];
  for (const [at, patch, message] of cases) {
    const bad = path.join(dir, `bad-${at}.qcow2`);
    const bytes = Buffer.from(header);
    patch.copy(bytes, at);
    writeFileSync(bad, bytes);
    await assert.rejects(imageInfo(bad), (err: Error) => err.message.startsWith(`cannot read ${bad}: `) && message.test(err.message) && !err.message.includes('\n'), message.source);
  }
});
