/**
 * Image files kdive reads: cpio newc archives (`kdive initramfs --list`), gzipped or not, and qcow2
 * headers (checked before a --disk image reaches QEMU). The seeds are an archive written by kdive's
 * own writer, one written by GNU cpio, and the first 4 KiB of images qemu-img made (see
 * test/fuzz/seeds/IMAGE-SEEDS.md).
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CpioNewcWriter } from '../../../src/rootfs/cpio-newc-writer.js';
import { readCpioNewc, type CpioEntry } from '../../../src/rootfs/cpio-newc-reader.js';
import { cpioListingLine } from '../../../src/rootfs/cpio-newc-reader-listing.js';
import { checkQcow2Header, type Qcow2Summary } from '../../../src/vm/qcow2-header.js';
import { writeQcow2Header, type Qcow2HeaderModel } from '../../support/qcow2-header-writer.js';
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

/** Text for names in the header: no NUL (the checker refuses one inside a name), a few bytes. */
const headerName = (maxBytes: number) => fc.string({ maxLength: 24, unit: 'grapheme' }).filter((n) => !n.includes('\0') && Buffer.byteLength(n) <= maxBytes);
const KNOWN_EXTENSIONS = new Set([0, 0xe2792aca, 0x6803f857, 0x23852875, 0x0537be77, 0x44415441]);

/**
 * Headers QEMU would open: everything the model puts in the header cluster fits in 512 bytes
 * (the smallest cluster), and the sizes keep the L1 table within QEMU's 32 MiB.
 */
const qcow2Model: fc.Arbitrary<Qcow2HeaderModel> = fc
  .record({ version: fc.constantFrom(2 as const, 3 as const), clusterBits: fc.integer({ min: 9, max: 21 }), extendedL2: fc.boolean() })
  .chain(({ version, clusterBits, extendedL2 }) => {
    const v3 = version === 3;
    const l2 = v3 && extendedL2 && clusterBits >= 14;
    const span = BigInt(2 * clusterBits - (l2 ? 4 : 3));
    return fc.record({
      version: fc.constant(version),
      clusterBits: fc.constant(clusterBits),
      extendedL2: fc.constant(l2),
      virtualSize: fc.bigInt({ min: 0n, max: (1n << span) << 16n }),
      extraL1: fc.nat({ max: 3 }),
      refcountTableClusters: fc.integer({ min: 1, max: Math.min(4, (8 << 20) / 2 ** clusterBits) }),
      snapshots: fc.nat({ max: 300 }),
      backingFile: fc.option(headerName(120).filter((n) => n !== ''), { nil: undefined }),
      backingFormat: fc.option(headerName(16), { nil: undefined }),
      dataFile: v3 ? fc.option(headerName(16), { nil: undefined }) : fc.constant(undefined),
      encryption: fc.constantFrom('none' as const, 'aes' as const, 'luks' as const),
      refcountOrder: v3 ? fc.integer({ min: 0, max: 6 }) : fc.constant(4),
      compressionType: v3 ? fc.constantFrom('zlib' as const, 'zstd' as const) : fc.constant('zlib' as const),
      dirty: v3 ? fc.boolean() : fc.constant(false),
      corrupt: v3 ? fc.boolean() : fc.constant(false),
      compatibleFeatures: v3 ? fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) : fc.constant(0n),
      autoclearFeatures: v3 ? fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) : fc.constant(0n),
      featureTable: fc.boolean(),
      unknownExtensions: fc.array(fc.record({ type: fc.nat({ max: 0xffffffff }).filter((t) => !KNOWN_EXTENSIONS.has(t)), data: fc.uint8Array({ maxLength: 16 }) }), { maxLength: 2 }),
    });
  });

/** What the checker should say about a header the writer made from `m`. */
function expectedSummary(m: Qcow2HeaderModel): Qcow2Summary {
  const features = [m.dirty, m.corrupt, m.dataFile !== undefined, m.compressionType === 'zstd', m.extendedL2];
  const names = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];
  return {
    version: m.version,
    clusterBits: m.clusterBits,
    virtualSize: m.virtualSize,
    ...(m.backingFile !== undefined ? { backingFile: m.backingFile } : {}),
    ...(m.backingFormat !== undefined ? { backingFormat: m.backingFormat } : {}),
    ...(m.dataFile !== undefined ? { dataFile: m.dataFile } : {}),
    snapshots: m.snapshots,
    encryption: m.encryption,
    refcountBits: 2 ** m.refcountOrder,
    compressionType: m.compressionType,
    incompatibleFeatures: names.filter((_, i) => features[i]),
    extensions: [
      ...(m.backingFormat !== undefined ? [0xe2792aca] : []),
      ...(m.featureTable ? [0x6803f857] : []),
      ...(m.dataFile !== undefined ? [0x44415441] : []),
      ...(m.encryption === 'luks' ? [0x0537be77] : []),
      ...m.unknownExtensions.map((u) => u.type),
    ],
  };
}

/** The first 4 KiB of images qemu-img made, and each whole file's size (the checker compares tables with it). */
const QCOW2_SEEDS = [
  { bytes: seed('qcow2-plain.head'), fileSize: 196616 },
  { bytes: seed('qcow2-backed.head'), fileSize: 196616 },
  { bytes: seed('qcow2-snap.head'), fileSize: 327750 },
  { bytes: seed('qcow2-v2.head'), fileSize: 16384 },
];
/**
 * Where edits start: mutation edits land mostly near the start of what they are given, so each
 * case gives them the header from one field on (fields, then extensions and backing name).
 */
const QCOW2_EDIT_STARTS = [0, 4, 8, 16, 20, 24, 32, 36, 40, 48, 56, 60, 64, 72, 80, 88, 96, 100, 104, 112, 120, 0x80, 0x88, 0x100, 0x200, 0x210];
const mutatedHeader = (bytes: Buffer) => fc.constantFrom(...QCOW2_EDIT_STARTS).chain((from) =>
  mutatedFrom([bytes.subarray(from, 1024)]).map((b) => Buffer.concat([bytes.subarray(0, from), b, bytes.subarray(1024)])));
const mutatedQcow2 = fc.oneof(...QCOW2_SEEDS.map((s) => fc.record({
  bytes: mutatedHeader(s.bytes),
  // Mostly the real size; sometimes another, so that tables run past the end.
  fileSize: fc.oneof({ weight: 4, arbitrary: fc.constant(s.fileSize) }, { weight: 1, arbitrary: fc.nat({ max: 1 << 22 }) }),
})));

/**
 * Mutation edits land mostly near the start of what they are given: these start at an even
 * chance anywhere in the seed, so later headers, names and data get edited as often.
 */
function mutatedFromAnywhere(seedBytes: Buffer): fc.Arbitrary<Buffer> {
  return fc.noBias(fc.nat({ max: seedBytes.length - 1 })).chain((from) =>
    mutatedFrom([seedBytes.subarray(from)]).map((b) => Buffer.concat([seedBytes.subarray(0, from), b])));
}

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
  property('cpio newc reader', 'mutated real archives: entries whose data fits the input, listed one per line, or a FormatError at an offset', fc.oneof(
    { weight: 3, arbitrary: mutatedFrom(CPIO_SEEDS) },
    { weight: 3, arbitrary: fc.constantFrom(...CPIO_SEEDS).chain(mutatedFromAnywhere) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  ), (bytes) => {
    const entries = parsedOrRejected(() => readCpioNewc(bytes, 'fuzz.cpio'), SAYS_OFFSET);
    if (!entries) return;
    // Every entry took a header of 110 bytes at least (so the count is bounded by the input).
    const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? undefined : bytes;
    if (plain) assert.ok(entries.length * 112 <= plain.length, `${entries.length} entries from ${plain.length} bytes`);
    for (const e of entries) {
      assert.ok(!cpioListingLine(e).includes('\n'), 'kdive initramfs --list prints each entry on one line');
      if (e.data) assert.equal(e.data.length, e.size);
      if (e.target !== undefined) assert.ok(e.size < 4096);
    }
  }),
  property('qcow2 header', 'headers made from a model (versions 2 and 3, every cluster size, backing file, extensions, features) pass and give back the model', qcow2Model, (m) => {
    const { bytes, fileSize } = writeQcow2Header(m);
    assert.deepEqual(checkQcow2Header(bytes, 'model.qcow2', fileSize), expectedSummary(m));
  }),
  property('qcow2 header', 'mutated headers of real images: a summary within QEMU limits, or a FormatError at an offset', mutatedQcow2, ({ bytes, fileSize }) => {
    const summary = parsedOrRejected(() => checkQcow2Header(bytes, 'fuzz.qcow2', Math.max(fileSize, bytes.length)), SAYS_OFFSET);
    if (!summary) return;
    assert.ok(summary.clusterBits >= 9 && summary.clusterBits <= 21);
    assert.ok(summary.snapshots <= 65536);
    assert.ok(summary.backingFile === undefined || Buffer.byteLength(summary.backingFile) <= 1023 * 3);
    assert.ok(summary.virtualSize < 1n << 63n);
  }),
];
