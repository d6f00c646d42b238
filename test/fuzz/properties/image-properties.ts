/**
 * Image files kdive reads: cpio newc archives (`kdive initramfs --list`), gzipped or not. The seeds
 * are an archive written by kdive's own writer and one written by GNU cpio (test/fuzz/seeds/cpio-gnu.newc).
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CpioNewcWriter } from '../../../src/rootfs/cpio-newc-writer.js';
import { readCpioNewc, type CpioEntry } from '../../../src/rootfs/cpio-newc-reader.js';
import { parsedOrRejected, property, type FuzzProperty } from '../fuzz-property.js';
import { mutatedFrom } from '../mutation.js';
import { seed } from '../seeds/seeds.js';

/** A FormatError names the file and the offset. */
const SAYS_OFFSET = /: at offset 0x[0-9a-f]+: /;
const MTIME = 1_700_000_000;

type CpioModelEntry =
  | { kind: 'file'; name: string; data: Uint8Array; mode: number }
  | { kind: 'dir'; name: string; mode: number }
  | { kind: 'symlink'; name: string; target: string }
  | { kind: 'device'; name: string; type: 'c' | 'b'; major: number; minor: number; mode: number };

/** What the writer does with a name: leading slashes go. */
const cleanName = (name: string) => name.replace(/^\/+/, '');

async function writeArchive(entries: readonly CpioModelEntry[]): Promise<Buffer> {
  const { writer, stream } = CpioNewcWriter.toReadable(MTIME);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  for (const e of entries) {
    if (e.kind === 'file') await writer.addFile(e.name, Buffer.from(e.data), e.mode);
    else if (e.kind === 'dir') await writer.addDirectory(e.name, e.mode);
    else if (e.kind === 'symlink') await writer.addSymlink(e.name, e.target);
    else await writer.addDevice(e.name, e.type, e.major, e.minor, e.mode);
  }
  await writer.finish();
  stream.end();
  return Buffer.concat(chunks);
}

/** The entries the reader should give for what the writer wrote (inodes count from 1 in each archive). */
function expectedEntries(entries: readonly CpioModelEntry[]): CpioEntry[] {
  return entries.map((e, i) => {
    const common = { name: cleanName(e.name), ino: i + 1, uid: 0, gid: 0, mtime: MTIME, devmajor: 0, devminor: 0, rdevmajor: 0, rdevminor: 0 };
    switch (e.kind) {
      case 'file':
        return { ...common, mode: 0o100000 | e.mode, nlink: 1, size: e.data.length, data: Buffer.from(e.data) };
      case 'dir':
        return { ...common, mode: 0o040000 | e.mode, nlink: 2, size: 0 };
      case 'symlink':
        return { ...common, mode: 0o120777, nlink: 1, size: Buffer.byteLength(e.target), target: e.target };
      case 'device':
        return { ...common, mode: (e.type === 'c' ? 0o020000 : 0o060000) | e.mode, nlink: 1, size: 0, rdevmajor: e.major, rdevminor: e.minor };
    }
  });
}

/** Names the writer takes: no NUL, something left after the leading slashes, not the trailer's. */
const entryName = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((n) => !n.includes('\0') && cleanName(n) !== '' && cleanName(n) !== 'TRAILER!!!');
const permissions = fc.integer({ min: 0, max: 0o7777 });
const cpioModelEntry: fc.Arbitrary<CpioModelEntry> = fc.oneof(
  fc.record({ kind: fc.constant('file' as const), name: entryName, data: fc.uint8Array({ maxLength: 70 }), mode: permissions }),
  fc.record({ kind: fc.constant('dir' as const), name: entryName, mode: permissions }),
  fc.record({ kind: fc.constant('symlink' as const), name: entryName, target: fc.string({ maxLength: 40, unit: 'grapheme' }) }),
  fc.record({ kind: fc.constant('device' as const), name: entryName, type: fc.constantFrom('c' as const, 'b' as const), major: fc.nat({ max: 0xfff }), minor: fc.nat({ max: 0xfffff }), mode: permissions }),
);

const WRITER_SEED = await writeArchive([
  { kind: 'dir', name: 'dev', mode: 0o755 },
  { kind: 'device', name: 'dev/console', type: 'c', major: 5, minor: 1, mode: 0o600 },
  { kind: 'file', name: 'init', data: Buffer.from('#!/bin/sh\nexec /bin/sh\n'), mode: 0o755 },
  { kind: 'symlink', name: 'bin/sh', target: 'busybox' },
]);
const GNU_SEED = seed('cpio-gnu.newc');
const CPIO_SEEDS = [WRITER_SEED, GNU_SEED, Buffer.concat([WRITER_SEED, Buffer.alloc(8), GNU_SEED]), gzipSync(WRITER_SEED)];

export const imageProperties: FuzzProperty[] = [
  property('cpio newc reader', 'archives the writer makes from a model, one or two in a row, gzipped or not, read back as the model', fc.record({
    archives: fc.array(fc.array(cpioModelEntry, { maxLength: 6 }), { minLength: 1, maxLength: 2 }),
    zeroWords: fc.nat({ max: 130 }),
    gzip: fc.boolean(),
  }), async ({ archives, zeroWords, gzip }) => {
    const written = await Promise.all(archives.map(writeArchive));
    const raw = Buffer.concat(written.flatMap((a) => [a, Buffer.alloc(4 * zeroWords)]));
    const bytes = gzip ? gzipSync(raw) : raw;
    assert.deepEqual(readCpioNewc(bytes, 'model.cpio'), archives.flatMap(expectedEntries));
  }),
  property('cpio newc reader', 'mutated real archives: entries whose data fits the input, or a FormatError at an offset', fc.oneof(
    { weight: 6, arbitrary: mutatedFrom(CPIO_SEEDS) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  ), (bytes) => {
    const entries = parsedOrRejected(() => readCpioNewc(bytes, 'fuzz.cpio'), SAYS_OFFSET);
    if (!entries) return;
    // Every entry took a header of 110 bytes at least (so the count is bounded by the input).
    const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? undefined : bytes;
    if (plain) assert.ok(entries.length * 112 <= plain.length, `${entries.length} entries from ${plain.length} bytes`);
    for (const e of entries) {
      if (e.data) assert.equal(e.data.length, e.size);
      if (e.target !== undefined) assert.ok(e.size < 4096);
    }
  }),
];
