import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decompress as unzstd } from 'fzstd';
import { KdiveError, MissingDependencyError } from '../errors.js';

/** How distributions compress modules (CONFIG_MODULE_COMPRESS_*): Debian's 6.12 packages ship `.ko.xz`. */
export const MODULE_SUFFIXES = ['.ko', '.ko.xz', '.ko.zst', '.ko.gz'] as const;

export function isModuleFile(name: string): boolean {
  return MODULE_SUFFIXES.some((s) => name.endsWith(s));
}

/**
 * A module as a plain ELF .ko: itself, or its decompressed copy beside it (made once). kdive reads
 * `.modinfo` from it and puts it in the initramfs as is, so busybox's insmod needs no decompressor.
 */
export async function plainModule(file: string): Promise<string> {
  if (file.endsWith('.ko')) return file;
  const plain = file.replace(/\.(xz|zst|gz)$/, '');
  if (existsSync(plain)) return plain;
  const bytes = await readFile(file);
  const elf = file.endsWith('.gz') ? gunzipSync(bytes) : file.endsWith('.zst') ? Buffer.from(unzstd(bytes)) : await unxz(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new KdiveError(`${file}: decompressed, it is not an ELF module`);
  const tmp = `${plain}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, elf);
    await rename(tmp, plain);
  } finally {
    await rm(tmp, { force: true });
  }
  return plain;
}

async function unxz(file: string): Promise<Buffer> {
  try {
    const { stdout } = await promisify(execFile)('xz', ['--decompress', '--stdout', file], { encoding: 'buffer', maxBuffer: 1 << 28 });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingDependencyError('xz', 'xz-utils');
    throw new KdiveError(`cannot decompress ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}
