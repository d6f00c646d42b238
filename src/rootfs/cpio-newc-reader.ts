import { gunzipSync } from 'node:zlib';
import { FormatError } from '../errors.js';

/** One member of a newc archive, its header fields as the format names them (without `c_`). */
export interface CpioEntry {
  name: string;
  ino: number;
  /** st_mode: the file type bits and the permissions. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** c_filesize: the bytes that follow the name (a file's data, a symlink's target). */
  size: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  /** A regular file's bytes (empty for all but the last of a set of hard links, as newc stores them). */
  data?: Buffer;
  /** A symlink's target. */
  target?: string;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
/** The file types a newc header may carry: socket, symlink, file, block device, directory, char device, FIFO. */
const FILE_TYPES = new Set([0o140000, S_IFLNK, S_IFREG, 0o060000, 0o040000, 0o020000, 0o010000]);

/** The 13 eight-digit hex fields after the magic, in header order. */
const FIELDS = ['c_ino', 'c_mode', 'c_uid', 'c_gid', 'c_nlink', 'c_mtime', 'c_filesize', 'c_devmajor', 'c_devminor', 'c_rdevmajor', 'c_rdevminor', 'c_namesize', 'c_check'] as const;
const HEADER_SIZE = 6 + 8 * FIELDS.length;
const TRAILER = 'TRAILER!!!';
/** The kernel's limit on a name or a symlink target (PATH_MAX, with the NUL). */
const PATH_MAX = 4096;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** Decompressed size kdive will hold in memory to list an archive. */
const MAX_GUNZIPPED = 1 << 30;

/**
 * Reads a cpio newc archive (magic 070701, or 070702 whose checksums the kernel ignores too), gzip-
 * compressed or not, as the kernel unpacks an initramfs: entries up to each `TRAILER!!!`, then
 * zero padding and further archives until the end. Anything malformed is a FormatError naming the
 * header field or the problem and the offset (in the gunzipped bytes, for a compressed file).
 */
export function readCpioNewc(bytes: Buffer, file: string): CpioEntry[] {
  if (bytes.subarray(0, 2).equals(GZIP_MAGIC)) {
    return readArchives(gunzip(bytes, file), `${file} (gunzipped)`);
  }
  return readArchives(bytes, file);
}

function gunzip(bytes: Buffer, file: string): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_GUNZIPPED });
  } catch (err) {
    // zlib says what is wrong (a bad header, a truncated stream, too large) but not where.
    throw new FormatError(file, 0, `gzip: ${(err as Error).message}`);
  }
}

function readArchives(buf: Buffer, file: string): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let at = afterZeros(buf, 0);
  if (at === buf.length) throw new FormatError(file, at, `no cpio archive: missing the ${TRAILER} entry`);
  for (;;) {
    // Each archive's padding counts from its first byte, so the kernel wants it to start 4-aligned.
    if (at % 4 !== 0) throw new FormatError(file, at, 'broken padding: an archive must start at a multiple of 4');
    at = afterZeros(buf, readArchive(buf, file, at, entries));
    if (at === buf.length) return entries;
  }
}

/** Zero bytes before, between and after archives are padding (the kernel skips them too). */
function afterZeros(buf: Buffer, at: number): number {
  while (at < buf.length && buf[at] === 0) at++;
  return at;
}

/** One archive's entries into `entries`, up to its trailer; the offset after the trailer. */
function readArchive(buf: Buffer, file: string, at: number, entries: CpioEntry[]): number {
  for (;;) {
    if (at >= buf.length) throw new FormatError(file, at, `missing the ${TRAILER} entry: the archive ends after ${entries.length} entries`);
    const { entry, next } = readEntry(buf, file, at);
    if (entry.name === TRAILER) return next;
    entries.push(entry);
    at = next;
  }
}

function readEntry(buf: Buffer, file: string, at: number): { entry: CpioEntry; next: number } {
  const magic = buf.toString('latin1', at, Math.min(at + 6, buf.length));
  if (magic !== '070701' && magic !== '070702') throw new FormatError(file, at, `no cpio newc magic (070701): ${JSON.stringify(magic)}`);
  if (at + HEADER_SIZE > buf.length) throw new FormatError(file, at, `header runs past the end (${buf.length - at} of ${HEADER_SIZE} bytes)`);
  const f = Object.fromEntries(FIELDS.map((name, i) => [name, hexField(buf, file, at + 6 + 8 * i, name)])) as Record<(typeof FIELDS)[number], number>;

  const nameAt = at + HEADER_SIZE;
  const namesize = f.c_namesize;
  const namesizeAt = fieldOffset(at, 'c_namesize');
  if (namesize === 0) throw new FormatError(file, namesizeAt, 'c_namesize is 0: a name has at least its NUL');
  if (namesize > PATH_MAX) throw new FormatError(file, namesizeAt, `c_namesize ${namesize}: longer than PATH_MAX (${PATH_MAX})`);
  if (nameAt + namesize > buf.length) throw new FormatError(file, namesizeAt, `c_namesize ${namesize}: the name runs past the end (${buf.length - nameAt} bytes left)`);
  if (buf[nameAt + namesize - 1] !== 0) throw new FormatError(file, nameAt, 'name not NUL-terminated');
  const nameBytes = buf.subarray(nameAt, nameAt + namesize - 1);
  if (nameBytes.includes(0)) throw new FormatError(file, nameAt, 'name has a NUL inside it');
  const name = nameBytes.toString('utf8');

  const dataAt = align4(nameAt + namesize);
  const size = f.c_filesize;
  const sizeAt = fieldOffset(at, 'c_filesize');
  if (dataAt + size > buf.length) throw new FormatError(file, sizeAt, `c_filesize ${size}: the data runs past the end (${Math.max(0, buf.length - dataAt)} bytes left)`);
  const next = align4(dataAt + size);

  const entry: CpioEntry = {
    name, ino: f.c_ino, mode: f.c_mode, uid: f.c_uid, gid: f.c_gid, nlink: f.c_nlink, mtime: f.c_mtime, size,
    devmajor: f.c_devmajor, devminor: f.c_devminor, rdevmajor: f.c_rdevmajor, rdevminor: f.c_rdevminor,
  };
  if (name === TRAILER) return { entry, next };
  const type = f.c_mode & S_IFMT;
  if (!FILE_TYPES.has(type)) throw new FormatError(file, fieldOffset(at, 'c_mode'), `c_mode 0o${f.c_mode.toString(8)}: no such file type (0o${type.toString(8)})`);
  const data = buf.subarray(dataAt, dataAt + size);
  if (type === S_IFREG) entry.data = data;
  if (type === S_IFLNK) {
    if (size >= PATH_MAX) throw new FormatError(file, sizeAt, `c_filesize ${size}: a symlink target longer than PATH_MAX (${PATH_MAX})`);
    entry.target = data.toString('utf8');
  }
  // Other types have no data; the kernel skips any they carry, and so does this reader.
  return { entry, next };
}

function hexField(buf: Buffer, file: string, at: number, name: string): number {
  const text = buf.toString('latin1', at, at + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new FormatError(file, at, `${name}: not hex: ${JSON.stringify(text)}`);
  return parseInt(text, 16);
}

function fieldOffset(headerAt: number, name: (typeof FIELDS)[number]): number {
  return headerAt + 6 + 8 * FIELDS.indexOf(name);
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
