import { open } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, KdiveError } from '../errors.js';
import type { KernelArtifacts } from './kernel-artifacts.js';

/** A bzImage given by path: checks the boot header and reads the version string from it. */
export async function resolveFileKernel(bzImage: string, vmlinux?: string): Promise<KernelArtifacts> {
  const version = await bzImageVersion(bzImage);
  if (vmlinux) await checkElfHeader(vmlinux);
  return { spec: bzImage, version: version ?? path.basename(bzImage), bzImage, vmlinux };
}

/** The x86 boot protocol: "HdrS" at 0x202, kernel_version (a pointer, +0x200) at 0x20e. */
export async function bzImageVersion(file: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new KdiveError(`cannot open kernel image ${file}: ${(err as Error).message}`, 2);
  }
  try {
    const head = Buffer.alloc(0x400);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
      throw new FormatError(file, 0x202, 'not an x86 bzImage (no "HdrS" boot header)');
    }
    const ptr = head.readUInt16LE(0x20e);
    if (ptr === 0) return undefined;
    const text = Buffer.alloc(256);
    await fh.read(text, 0, text.length, ptr + 0x200);
    const s = text.toString('latin1');
    return s.slice(0, s.indexOf('\0') >= 0 ? s.indexOf('\0') : s.length).split(' ')[0];
  } finally {
    await fh.close();
  }
}

async function checkElfHeader(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new KdiveError(`cannot open --vmlinux ${file}: ${(err as Error).message}`, 2);
  }
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead < 4 || head.readUInt32BE(0) !== 0x7f454c46) throw new FormatError(file, 0, 'not an ELF file (no \\x7fELF magic)');
  } finally {
    await fh.close();
  }
}
