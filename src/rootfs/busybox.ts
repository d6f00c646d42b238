import { open } from 'node:fs/promises';
import { MissingDependencyError } from '../errors.js';

const CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const PT_INTERP = 3;

/** A statically linked busybox: the initramfs has no libc, so a dynamic one would not run. */
export async function findStaticBusybox(candidates: readonly string[] = CANDIDATES): Promise<string> {
  for (const path of candidates) {
    if (await isStaticElf(path)) return path;
  }
  throw new MissingDependencyError('busybox (static)', 'busybox-static');
}

/** An x86-64/ELF64 executable with no PT_INTERP program header (false for anything unreadable or not ELF64). */
export async function isStaticElf(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const h = Buffer.alloc(64);
    await fh.read(h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false;
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    await fh.read(ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    await fh.close();
  }
}
