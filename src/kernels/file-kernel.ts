import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, KdiveError } from '../errors.js';
import { elfHeaderProblem } from './elf-header-check.js';
import type { KernelArtifacts } from './kernel-artifacts.js';

/** A bzImage given by path: checks the boot header and reads the version string from it. */
export async function resolveFileKernel(bzImage: string, vmlinux?: string): Promise<KernelArtifacts> {
  const version = await bzImageVersion(bzImage);
  if (vmlinux) await checkVmlinux(vmlinux);
  return { spec: bzImage, version: version ?? path.basename(bzImage), bzImage, vmlinux };
}

/**
 * The release in an x86 bzImage (e.g. 6.1.0-56-cloud-amd64). Boot protocol: "HdrS" at 0x202;
 * kernel_version at 0x20e is an offset from the setup header's base, so the string is at it + 0x200.
 * Undefined when the image carries no version string (pointer 0).
 */
export async function bzImageVersion(file: string): Promise<string | undefined> {
  const text = await bzImageVersionText(file);
  return text === undefined ? undefined : text.split(' ')[0];
}

/** The whole kernel_version string, e.g. "6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP ... 6.1.192-2 (2026-11-16)". */
export async function bzImageVersionText(file: string): Promise<string | undefined> {
  const fh = await openFile(file, 'kernel image');
  try {
    const head = Buffer.alloc(0x210);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
      throw new FormatError(file, 0x202, 'not an x86 bzImage (no "HdrS" boot header)');
    }
    const ptr = head.readUInt16LE(0x20e);
    if (ptr === 0) return undefined;
    const at = ptr + 0x200;
    const text = Buffer.alloc(256);
    const got = (await fh.read(text, 0, text.length, at)).bytesRead;
    const end = text.subarray(0, got).indexOf(0);
    if (end <= 0) throw new FormatError(file, at, 'a NUL-terminated kernel version string (kernel_version at 0x20e points past it)');
    return text.toString('latin1', 0, end);
  } finally {
    await fh.close();
  }
}

/** The vmlinux given with --vmlinux must at least be a whole x86-64 ELF file. */
export async function checkVmlinux(file: string): Promise<void> {
  const fh = await openFile(file, '--vmlinux');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    const problem = elfHeaderProblem(head.subarray(0, bytesRead), (await fh.stat()).size);
    if (problem) throw new FormatError(file, problem.offset, `not a usable vmlinux: expected ${problem.expected}`);
  } finally {
    await fh.close();
  }
}

/** Opens a file the user named for reading; a missing one or a folder is one line (exit 2). */
async function openFile(file: string, what: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new KdiveError(`cannot open ${what} ${file}: ${(err as Error).message}`, 2);
  }
  if ((await fh.stat()).isDirectory()) {
    await fh.close();
    throw new KdiveError(`${what} ${file}: a directory, not a file`, 2);
  }
  return fh;
}
