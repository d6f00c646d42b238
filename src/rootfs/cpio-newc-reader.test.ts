import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { FormatError } from '../errors.js';
import { seed } from '../../test/fuzz/seeds/seeds.js';
import { CpioNewcWriter } from './cpio-newc-writer.js';
import { readCpioNewc } from './cpio-newc-reader.js';
import { cpioListingLine } from './cpio-newc-reader-listing.js';

// The recorded listing was made with TZ=UTC (see test/fuzz/seeds/IMAGE-SEEDS.md).
process.env.TZ = 'UTC';
const GNU = seed('cpio-gnu.newc');
const NOW = Date.parse('2026-01-01T00:00:00Z') / 1000;

async function writerArchive(): Promise<Buffer> {
  const { writer, stream } = CpioNewcWriter.toReadable(1_700_000_000);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await writer.addDirectory('etc');
  await writer.addFile('etc/motd', Buffer.from('hi\n'));
  await writer.finish();
  stream.end();
  return Buffer.concat(chunks);
}

test('a GNU cpio archive reads as `cpio -itvn` lists it: modes, links, owners, sizes, devices, dates, symlinks', () => {
  const listing = readCpioNewc(GNU, 'gnu.newc').map((e) => cpioListingLine(e, NOW));
  assert.deepEqual(listing, seed('cpio-gnu.listing').toString('utf8').trimEnd().split('\n'));
});

test('file data, hard links (the data on the last of them) and symlink targets come back', () => {
  const byName = new Map(readCpioNewc(GNU, 'gnu.newc').map((e) => [e.name, e]));
  assert.equal(byName.get('etc/hostname')!.data!.toString(), 'kdive\n');
  assert.equal(byName.get('etc/hosts')!.data!.length, 0);
  assert.equal(byName.get('etc/hosts.again')!.data!.toString(), '127.0.0.1 localhost\n');
  assert.equal(byName.get('etc/hosts')!.ino, byName.get('etc/hosts.again')!.ino);
  assert.equal(byName.get('bin/sh')!.target, 'busybox');
  assert.deepEqual([byName.get('dev/console')!.rdevmajor, byName.get('dev/console')!.rdevminor], [5, 1]);
});

test('gzip-compressed, and several archives in a row with zero padding between them, as the kernel takes them', async () => {
  const ours = await writerArchive();
  assert.deepEqual(readCpioNewc(gzipSync(GNU), 'gnu.newc.gz'), readCpioNewc(GNU, 'gnu.newc'));
  const both = readCpioNewc(Buffer.concat([ours, Buffer.alloc(512), GNU, Buffer.alloc(8)]), 'both');
  assert.deepEqual(both.map((e) => e.name).slice(0, 3), ['etc', 'etc/motd', '.']);
  assert.deepEqual(readCpioNewc(Buffer.concat([gzipSync(ours), gzipSync(GNU)]), 'two.gz'), both);
});

test('a recent mtime shows the time of day, as cpio does within six months', () => {
  const [dir] = readCpioNewc(GNU, 'gnu.newc');
  assert.match(cpioListingLine(dir!, dir!.mtime + 3600), / Jan {2}2 03:04 \.$/);
});

test('malformed archives: one FormatError naming the field or the problem, and the offset', async () => {
  const ours = await writerArchive();
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(0), /at offset 0x0: no cpio archive: missing the TRAILER!!! entry/],
    [Buffer.from('07070X'), /at offset 0x0: no cpio newc magic \(070701\): "07070X"/],
    [ours.subarray(0, 50), /at offset 0x0: header runs past the end \(50 of 110 bytes\)/],
    [Buffer.concat([ours.subarray(0, 14), Buffer.from('0000g000'), ours.subarray(22)]), /at offset 0xe: c_mode: not hex: "0000g000"/],
    [ours.subarray(0, 112 + 4 + 110 + 12), /at offset 0xaa: c_filesize 3: the data runs past the end \(2 bytes left\)/],
    [ours.subarray(0, ours.length - 124), /missing the TRAILER!!! entry: the archive ends after 2 entries/],
    [Buffer.concat([ours, Buffer.alloc(2), ours]), /at offset 0x[0-9a-f]+: broken padding/],
    [Buffer.from([0x1f, 0x8b, 1, 2]), /at offset 0x0: gzip: /],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => readCpioNewc(bytes, 'a.cpio'), (err: unknown) => err instanceof FormatError && message.test(err.message) && !err.message.includes('\n'), message.source);
  }
  const noNul = Buffer.from(ours);
  noNul[110 + 3] = 0x41; // "etc\0" -> "etcA"
  assert.throws(() => readCpioNewc(noNul, 'a.cpio'), /a.cpio: at offset 0x6e: name not NUL-terminated/);
});
