import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kdiveCacheDir } from '../../cache-dir.js';
import { FormatError, KdiveError } from '../../errors.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { silentProgress } from '../../progress/progress.js';
import { ElfFile } from '../elf/index.js';
import { isBzImage } from './bzimage-header.js';
import { extractVmlinux } from './extract-vmlinux.js';

export interface OpenedKernelImage {
  elf: ElfFile;
  /** The bzImage the ELF was unpacked from; undefined when `path` was the ELF itself. */
  extractedFrom?: string;
}

/**
 * A kernel's ELF from either a vmlinux or a bzImage. A bzImage is unpacked once into the cache,
 * keyed by its content, so the next session opens the cached vmlinux without unpacking again.
 */
export async function openKernelImage(file: string, progress: ProgressReporter = silentProgress): Promise<OpenedKernelImage> {
  // The first page says which it is: a 600 MB vmlinux is not read whole to learn that.
  const head = await readKernelFile(file, 4096);
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return { elf: await ElfFile.open(file) };
  if (!isBzImage(head)) throw new FormatError(file, 0, 'neither an ELF file (no \\x7fELF magic) nor an x86 bzImage (no "HdrS" at 0x202)');
  // The same file as last time (path, size, mtime, inode): its content key is remembered, and the
  // 14 MB bzImage is neither read nor hashed again.
  const seen = await seenBefore(file);
  if (seen && existsSync(seen.target)) return { elf: await ElfFile.open(seen.target), extractedFrom: file };
  const bytes = await readKernelFile(file);
  const target = extractedVmlinuxPath(bytes);
  if (existsSync(target)) {
    await remember(file, target);
    return { elf: await ElfFile.open(target), extractedFrom: file };
  }
  const task = progress.start(`unpacking vmlinux from ${path.basename(file)}`);
  let elf: Buffer;
  try {
    elf = extractVmlinux(bytes, file);
  } catch (err) {
    task.fail();
    throw err;
  }
  if (!(await writeAtomically(target, elf))) {
    task.finish('unpacked (the cache is not writable: kept in memory)');
    return { elf: await ElfFile.fromBuffer(file, elf), extractedFrom: file };
  }
  task.finish();
  await remember(file, target);
  return { elf: await ElfFile.open(target), extractedFrom: file };
}

/** Where the memo of a file's content key lives: named by its path and what stat says of it. */
async function memoPath(file: string): Promise<string> {
  const st = await stat(file);
  const key = createHash('sha1').update(`${path.resolve(file)}\0${st.size}\0${st.mtimeMs}\0${st.ino}`).digest('hex').slice(0, 16);
  return path.join(kdiveCacheDir(), 'extracted', 'by-file', key);
}

async function seenBefore(file: string): Promise<{ target: string } | undefined> {
  // No memo yet (or an unreadable one): the content key is computed again.
  const target = await readFile(await memoPath(file), 'utf8').catch(() => undefined);
  return target ? { target: target.trim() } : undefined;
}

async function remember(file: string, target: string): Promise<void> {
  // A memo that cannot be written costs only the hash next time.
  await writeAtomically(await memoPath(file), Buffer.from(`${target}\n`)).catch(() => false);
}

/** Where the vmlinux unpacked from this bzImage is cached: named by a hash of the bzImage's bytes. */
export function extractedVmlinuxPath(bzImage: Buffer, cacheDir = kdiveCacheDir()): string {
  const key = createHash('sha256').update(bzImage).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'extracted', key, 'vmlinux');
}

/** The file's bytes, or only its first `length` bytes. */
async function readKernelFile(file: string, length?: number): Promise<Buffer> {
  try {
    if (length === undefined) return await readFile(file);
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new KdiveError(`${file}: a directory, not a kernel image (give the vmlinux or bzImage in it)`, 2);
    throw new FormatError(file, 0, `cannot open: ${(err as Error).message}`);
  }
}

/** Writes under a temporary name and renames, so a crash never leaves a half vmlinux to be reused. False when the cache cannot be written. */
async function writeAtomically(target: string, bytes: Buffer): Promise<boolean> {
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, target);
    return true;
  } catch {
    // Nothing was left to remove.
    await rm(tmp, { force: true }).catch(() => {});
    return false;
  }
}
