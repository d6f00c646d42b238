import { FormatError } from '../errors.js';

/** What the header of a qcow2 image says, once it has been checked. */
export interface Qcow2Summary {
  version: 2 | 3;
  clusterBits: number;
  virtualSize: bigint;
  backingFile?: string;
  /** The backing file's format, from the header extension that names it. */
  backingFormat?: string;
  /** An external data file's name (incompatible feature bit 2), from its header extension. */
  dataFile?: string;
  snapshots: number;
  encryption: 'none' | 'aes' | 'luks';
  refcountBits: number;
  compressionType: 'zlib' | 'zstd';
  /** Names of the incompatible feature bits set (`dirty`, `corrupt`, ...). */
  incompatibleFeatures: string[];
  /** Header extension types, in the order they appear, the end marker left out. */
  extensions: number[];
}

export const QCOW2_MAGIC = Buffer.from('QFI\xfb', 'latin1');

/** Header fields and their offsets (QEMU's docs/interop/qcow2.txt). */
const FIELD = {
  magic: 0, version: 4, backing_file_offset: 8, backing_file_size: 16, cluster_bits: 20, size: 24, crypt_method: 32,
  l1_size: 36, l1_table_offset: 40, refcount_table_offset: 48, refcount_table_clusters: 56, nb_snapshots: 60, snapshots_offset: 64,
  incompatible_features: 72, compatible_features: 80, autoclear_features: 88, refcount_order: 96, header_length: 100, compression_type: 104,
} as const;
type Field = keyof typeof FIELD;

const V2_HEADER_LENGTH = 72;
const V3_MIN_HEADER_LENGTH = 104;
/** Bits of incompatible_features the spec defines, in bit order. */
const INCOMPATIBLE = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];
const ENCRYPTION = ['none', 'aes', 'luks'] as const;
const COMPRESSION = ['zlib', 'zstd'] as const;
/** QEMU's limits (block/qcow2.h): larger tables are refused when the image is opened. */
const MAX_REFTABLE_BYTES = 8 << 20;
const MAX_L1_BYTES = 32 << 20;
const MAX_SNAPSHOTS = 65536;
/** A snapshot table entry is at least this long (its fixed part). */
const SNAPSHOT_ENTRY_MIN = 40;
const MAX_BACKING_NAME = 1023;

export const EXT = { END: 0, BACKING_FORMAT: 0xe2792aca, FEATURE_TABLE: 0x6803f857, BITMAPS: 0x23852875, ENCRYPTION_HEADER: 0x0537be77, DATA_FILE: 0x44415441 } as const;
/** The lengths the spec fixes for some extensions. */
const EXT_LENGTH: Record<number, number> = { [EXT.BITMAPS]: 24, [EXT.ENCRYPTION_HEADER]: 16 };
/** A feature name table entry: type, bit number, 46 bytes of name. */
const FEATURE_ENTRY = 48;

/**
 * Checks the header of a qcow2 image as QEMU does when it opens one, and the tables it points to
 * against the file's size, so a corrupt image is refused in one line naming the field before QEMU
 * starts. `bytes` are the file's first bytes: its first cluster (or the whole file, when smaller)
 * holds the header, its extensions and the backing file name; `fileSize` is the whole file's.
 */
export function checkQcow2Header(bytes: Buffer, file: string, fileSize: number): Qcow2Summary {
  return new HeaderReader(bytes, file, fileSize).summary();
}

class HeaderReader {
  constructor(private readonly bytes: Buffer, private readonly file: string, private readonly fileSize: number) {}

  summary(): Qcow2Summary {
    this.need(0, 4, 'magic');
    if (!this.bytes.subarray(0, 4).equals(QCOW2_MAGIC)) this.fail(0, `no qcow2 magic (QFI\\xfb): ${JSON.stringify(this.bytes.toString('latin1', 0, 4))}`);
    this.need(0, V2_HEADER_LENGTH, 'header');
    const version = this.u32('version');
    if (version !== 2 && version !== 3) this.bad('version', version, 'not 2 or 3');
    const clusterBits = this.u32('cluster_bits');
    if (clusterBits < 9 || clusterBits > 21) this.bad('cluster_bits', clusterBits, 'not in 9..21 (512 bytes to 2 MiB clusters)');
    const clusterSize = 2 ** clusterBits;

    const v3 = version === 3 ? this.v3Fields(clusterSize) : undefined;
    const headerLength = v3?.headerLength ?? V2_HEADER_LENGTH;
    const incompatible = v3?.incompatible ?? 0n;
    const extendedL2 = (incompatible & (1n << 4n)) !== 0n;
    if (extendedL2 && clusterBits < 14) this.bad('incompatible_features', incompatible, `extended L2 entries need clusters of 16 KiB or more (cluster_bits ${clusterBits})`);

    const crypt = this.u32('crypt_method');
    if (crypt >= ENCRYPTION.length) this.bad('crypt_method', crypt, 'not 0 (none), 1 (AES) or 2 (LUKS)');

    this.checkTables(clusterBits, extendedL2);
    const backing = this.backingFile(clusterSize, headerLength);
    const extensions = this.extensions(headerLength, backing?.offset ?? clusterSize, crypt);
    return {
      version,
      clusterBits,
      virtualSize: this.u64('size'),
      ...(backing ? { backingFile: backing.name } : {}),
      ...(extensions.backingFormat !== undefined ? { backingFormat: extensions.backingFormat } : {}),
      ...(extensions.dataFile !== undefined ? { dataFile: extensions.dataFile } : {}),
      snapshots: this.u32('nb_snapshots'),
      encryption: ENCRYPTION[crypt]!,
      refcountBits: 2 ** (v3?.refcountOrder ?? 4),
      compressionType: COMPRESSION[v3?.compressionType ?? 0]!,
      incompatibleFeatures: INCOMPATIBLE.filter((_, bit) => incompatible & (1n << BigInt(bit))),
      extensions: extensions.types,
    };
  }

  /** The fields version 3 added, checked. */
  private v3Fields(clusterSize: number): { headerLength: number; incompatible: bigint; refcountOrder: number; compressionType: number } {
    this.need(0, V3_MIN_HEADER_LENGTH, 'version 3 header');
    const headerLength = this.u32('header_length');
    if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 !== 0) this.bad('header_length', headerLength, `not a multiple of 8 of at least ${V3_MIN_HEADER_LENGTH}`);
    if (headerLength > clusterSize) this.bad('header_length', headerLength, `longer than a cluster (${clusterSize} bytes)`);
    this.need(0, headerLength, 'header');
    const incompatible = this.u64('incompatible_features');
    const unknown = incompatible >> BigInt(INCOMPATIBLE.length);
    if (unknown) {
      const bits = [...Array(64).keys()].filter((b) => (incompatible >> BigInt(b)) & 1n && b >= INCOMPATIBLE.length);
      this.bad('incompatible_features', incompatible, `unknown feature bit${bits.length > 1 ? 's' : ''} ${bits.join(', ')} set (an image for a newer QEMU?)`);
    }
    const refcountOrder = this.u32('refcount_order');
    if (refcountOrder > 6) this.bad('refcount_order', refcountOrder, 'over 6 (refcounts of more than 64 bits)');
    const compressionBit = (incompatible & (1n << 3n)) !== 0n;
    const compressionType = headerLength > V3_MIN_HEADER_LENGTH ? this.bytes[FIELD.compression_type]! : 0;
    if (compressionType >= COMPRESSION.length) this.bad('compression_type', compressionType, 'not 0 (zlib) or 1 (zstd)');
    if (compressionType !== 0 && !compressionBit) this.bad('compression_type', compressionType, 'not zlib, but incompatible_features bit 3 (compression type) is clear');
    if (compressionBit && headerLength <= V3_MIN_HEADER_LENGTH) this.bad('incompatible_features', incompatible, `bit 3 (compression type) set, but header_length ${headerLength} has no compression_type`);
    return { headerLength, incompatible, refcountOrder, compressionType };
  }

  /** The refcount table, the active L1 table and the snapshot table: sizes QEMU takes, aligned, inside the file. */
  private checkTables(clusterBits: number, extendedL2: boolean): void {
    const clusterSize = 2 ** clusterBits;
    const refcountClusters = this.u32('refcount_table_clusters');
    if (refcountClusters === 0) this.bad('refcount_table_clusters', 0, 'no refcount table');
    if (refcountClusters * clusterSize > MAX_REFTABLE_BYTES) this.bad('refcount_table_clusters', refcountClusters, `a refcount table over ${MAX_REFTABLE_BYTES >> 20} MiB`);
    this.table('refcount_table_offset', refcountClusters * clusterSize, clusterSize);

    const l1Size = this.u32('l1_size');
    if (l1Size * 8 > MAX_L1_BYTES) this.bad('l1_size', l1Size, `an L1 table over ${MAX_L1_BYTES >> 20} MiB`);
    // Each L1 entry maps an L2 table of a cluster's worth of entries (8 bytes each, 16 with extended L2).
    const l1Span = BigInt(clusterBits + clusterBits - (extendedL2 ? 4 : 3));
    const size = this.u64('size');
    const needed = (size + (1n << l1Span) - 1n) >> l1Span;
    if (BigInt(l1Size) < needed) this.bad('l1_size', l1Size, `too small for size ${size} (${needed} entries needed)`);
    this.table('l1_table_offset', l1Size * 8, clusterSize);

    const snapshots = this.u32('nb_snapshots');
    if (snapshots > MAX_SNAPSHOTS) this.bad('nb_snapshots', snapshots, `over ${MAX_SNAPSHOTS}`);
    this.table('snapshots_offset', snapshots * SNAPSHOT_ENTRY_MIN, clusterSize);
  }

  /** A table of `length` bytes at the offset in `field`: cluster-aligned and, when not empty, after the header and inside the file. */
  private table(field: Field, length: number, clusterSize: number): void {
    const offset = this.u64(field);
    if (offset % BigInt(clusterSize) !== 0n) this.bad(field, offset, `not a multiple of the cluster size (${clusterSize})`);
    if (length === 0) return;
    if (offset === 0n) this.bad(field, offset, 'a table over the header');
    if (offset + BigInt(length) > BigInt(this.fileSize)) this.bad(field, offset, `a table of ${length} bytes that runs past the end of the file (${this.fileSize} bytes)`);
  }

  /** The backing file name: after the header, inside the header cluster, at most 1023 bytes. */
  private backingFile(clusterSize: number, headerLength: number): { name: string; offset: number } | undefined {
    const offset = this.u64('backing_file_offset');
    if (offset === 0n) return undefined;
    const length = this.u32('backing_file_size');
    if (offset < BigInt(headerLength) || offset >= BigInt(clusterSize)) this.bad('backing_file_offset', offset, `not between the header's end (${headerLength}) and the cluster's (${clusterSize})`);
    if (length > MAX_BACKING_NAME) this.bad('backing_file_size', length, `a backing file name over ${MAX_BACKING_NAME} bytes`);
    const at = Number(offset);
    if (at + length > clusterSize) this.bad('backing_file_size', length, `the backing file name runs past the header cluster (${clusterSize} bytes)`);
    this.need(at, length, 'the backing file name');
    const name = this.bytes.subarray(at, at + length);
    if (name.includes(0)) this.fail(at, 'backing file name has a NUL inside it');
    return { name: name.toString('utf8'), offset: at };
  }

  /** Header extensions, from the end of the header to the end marker (or the backing file name, or the cluster's end). */
  private extensions(from: number, end: number, crypt: number): { types: number[]; backingFormat?: string; dataFile?: string } {
    const out: { types: number[]; backingFormat?: string; dataFile?: string } = { types: [] };
    // Each extension takes 8 bytes at least and the area is inside one cluster (2 MiB at most): the loop is bounded.
    for (let at = from; at < end; ) {
      if (at + 8 > end) this.fail(at, `header extension header runs past the extension area's end (0x${end.toString(16)})`);
      this.need(at, 8, 'header extension');
      const type = this.bytes.readUInt32BE(at);
      const length = this.bytes.readUInt32BE(at + 4);
      const name = `header extension 0x${type.toString(16).padStart(8, '0')}`;
      if (type === EXT.END) return out;
      const dataAt = at + 8;
      if (length > end - dataAt) this.fail(at + 4, `${name}: length ${length} runs past the extension area's end (0x${end.toString(16)})`);
      this.need(dataAt, length, name);
      if (out.types.includes(type) && type in EXT_NAMES) this.fail(at, `${name} (${EXT_NAMES[type]}) appears twice`);
      if (EXT_LENGTH[type] !== undefined && length !== EXT_LENGTH[type]) this.fail(at + 4, `${name} (${EXT_NAMES[type]}): length ${length}, not ${EXT_LENGTH[type]}`);
      if (type === EXT.FEATURE_TABLE && length % FEATURE_ENTRY !== 0) this.fail(at + 4, `${name} (feature name table): length ${length}, not a multiple of ${FEATURE_ENTRY}`);
      if (type === EXT.ENCRYPTION_HEADER && ENCRYPTION[crypt] !== 'luks') this.fail(at, `${name} (encryption header) in an image whose crypt_method is not LUKS`);
      const data = this.bytes.subarray(dataAt, dataAt + length);
      if (type === EXT.BACKING_FORMAT) out.backingFormat = this.extensionText(data, dataAt, name);
      if (type === EXT.DATA_FILE) out.dataFile = this.extensionText(data, dataAt, name);
      out.types.push(type);
      at = dataAt + Math.ceil(length / 8) * 8;
    }
    return out;
  }

  private extensionText(data: Buffer, at: number, name: string): string {
    if (data.includes(0)) this.fail(at, `${name}: a name with a NUL inside it`);
    return data.toString('utf8');
  }

  private u32(field: Field): number {
    return this.bytes.readUInt32BE(FIELD[field]);
  }

  private u64(field: Field): bigint {
    return this.bytes.readBigUInt64BE(FIELD[field]);
  }

  /** The `length` bytes at `at` must be among the bytes given (the file's first cluster, or all of a smaller file). */
  private need(at: number, length: number, what: string): void {
    if (at + length <= this.bytes.length) return;
    const end = this.bytes.length >= this.fileSize ? `the end of the file (${this.fileSize} bytes)` : `the first ${this.bytes.length} bytes read`;
    this.fail(at, `${what} (${length} bytes) runs past ${end}`);
  }

  private bad(field: Field, value: number | bigint, what: string): never {
    const shown = typeof value === 'bigint' ? `0x${value.toString(16)}` : String(value);
    this.fail(FIELD[field], `${field} ${shown}: ${what}`);
  }

  private fail(at: number, what: string): never {
    throw new FormatError(this.file, at, what);
  }
}

const EXT_NAMES: Record<number, string> = {
  [EXT.BACKING_FORMAT]: 'backing file format', [EXT.FEATURE_TABLE]: 'feature name table', [EXT.BITMAPS]: 'bitmaps',
  [EXT.ENCRYPTION_HEADER]: 'encryption header', [EXT.DATA_FILE]: 'external data file name',
};
