/**
 * Writes the header cluster of a qcow2 image from a model (the layout of QEMU's
 * docs/interop/qcow2.txt), for tests of the header checker: the header, its extensions, the
 * backing file name after them, and the tables it points to placed in clusters after the header
 * (only the file's size says they are there: the checker reads the first cluster only).
 */
import { EXT } from '../../src/vm/qcow2-header.js';

export interface Qcow2HeaderModel {
  version: 2 | 3;
  clusterBits: number;
  virtualSize: bigint;
  /** L1 entries beyond what virtualSize needs. */
  extraL1: number;
  refcountTableClusters: number;
  snapshots: number;
  backingFile?: string;
  backingFormat?: string;
  /** Version 3 only: sets incompatible feature bit 2. */
  dataFile?: string;
  encryption: 'none' | 'aes' | 'luks';
  /** Version 3 only (version 2 is always 4). */
  refcountOrder: number;
  /** zstd is version 3 only, and sets incompatible feature bit 3. */
  compressionType: 'zlib' | 'zstd';
  dirty: boolean;
  corrupt: boolean;
  /** Needs clusters of 16 KiB or more. */
  extendedL2: boolean;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  featureTable: boolean;
  /** Extensions of types the spec does not define, which a reader skips. */
  unknownExtensions: { type: number; data: Uint8Array }[];
}

/** How many bytes of the header cluster are written (the model keeps everything in the first 512). */
const WRITTEN = 4096;

export function writeQcow2Header(m: Qcow2HeaderModel): { bytes: Buffer; fileSize: number } {
  const clusterSize = 2 ** m.clusterBits;
  const bytes = Buffer.alloc(Math.min(clusterSize, WRITTEN));
  const headerLength = m.version === 2 ? 72 : m.compressionType === 'zstd' ? 112 : 104;
  const span = BigInt(2 * m.clusterBits - (m.extendedL2 ? 4 : 3));
  const l1Size = Number((m.virtualSize + (1n << span) - 1n) >> span) + m.extraL1;

  // Tables, one after the other, from the second cluster on.
  let next = clusterSize;
  const place = (length: number) => {
    if (length === 0) return 0;
    const at = next;
    next += Math.ceil(length / clusterSize) * clusterSize;
    return at;
  };
  const refcountTable = place(m.refcountTableClusters * clusterSize);
  const l1Table = place(l1Size * 8);
  const snapshotTable = place(m.snapshots * 40);

  bytes.write('QFI\xfb', 0, 'latin1');
  bytes.writeUInt32BE(m.version, 4);
  bytes.writeUInt32BE(m.clusterBits, 20);
  bytes.writeBigUInt64BE(m.virtualSize, 24);
  bytes.writeUInt32BE(['none', 'aes', 'luks'].indexOf(m.encryption), 32);
  bytes.writeUInt32BE(l1Size, 36);
  bytes.writeBigUInt64BE(BigInt(l1Table), 40);
  bytes.writeBigUInt64BE(BigInt(refcountTable), 48);
  bytes.writeUInt32BE(m.refcountTableClusters, 56);
  bytes.writeUInt32BE(m.snapshots, 60);
  bytes.writeBigUInt64BE(BigInt(snapshotTable), 64);
  if (m.version === 3) {
    const incompatible = [m.dirty, m.corrupt, m.dataFile !== undefined, m.compressionType === 'zstd', m.extendedL2].reduce((bits, set, bit) => (set ? bits | (1n << BigInt(bit)) : bits), 0n);
    bytes.writeBigUInt64BE(incompatible, 72);
    bytes.writeBigUInt64BE(m.compatibleFeatures, 80);
    bytes.writeBigUInt64BE(m.autoclearFeatures, 88);
    bytes.writeUInt32BE(m.refcountOrder, 96);
    bytes.writeUInt32BE(headerLength, 100);
    if (m.compressionType === 'zstd') bytes[104] = 1;
  }

  let at = headerLength;
  const extension = (type: number, data: Buffer) => {
    bytes.writeUInt32BE(type, at);
    bytes.writeUInt32BE(data.length, at + 4);
    data.copy(bytes, at + 8);
    at += 8 + Math.ceil(data.length / 8) * 8;
  };
  if (m.backingFormat !== undefined) extension(EXT.BACKING_FORMAT, Buffer.from(m.backingFormat));
  if (m.featureTable) extension(EXT.FEATURE_TABLE, featureTable());
  if (m.dataFile !== undefined) extension(EXT.DATA_FILE, Buffer.from(m.dataFile));
  if (m.encryption === 'luks') extension(EXT.ENCRYPTION_HEADER, Buffer.alloc(16));
  for (const u of m.unknownExtensions) extension(u.type, Buffer.from(u.data));
  extension(EXT.END, Buffer.alloc(0));
  if (m.backingFile !== undefined) {
    const name = Buffer.from(m.backingFile);
    bytes.writeBigUInt64BE(BigInt(at), 8);
    bytes.writeUInt32BE(name.length, 16);
    name.copy(bytes, at);
  }
  return { bytes, fileSize: next };
}

/** The feature name table QEMU writes: type (0 incompatible, 1 compatible, 2 autoclear), bit, 46-byte name. */
function featureTable(): Buffer {
  const entries: [number, number, string][] = [[0, 0, 'dirty bit'], [0, 1, 'corrupt bit'], [1, 0, 'lazy refcounts']];
  const table = Buffer.alloc(48 * entries.length);
  entries.forEach(([type, bit, name], i) => {
    table[48 * i] = type;
    table[48 * i + 1] = bit;
    table.write(name, 48 * i + 2, 'latin1');
  });
  return table;
}
