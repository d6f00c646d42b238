import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KdiveError, MissingDependencyError } from '../errors.js';
import { findStaticBusybox } from './busybox.js';
import { listApplets, ROOT_DIRECTORIES } from './initramfs-builder.js';

const run = promisify(execFile);

export interface RootfsImageOptions {
  out: string;
  /** As qemu-img and mke2fs take it: 256M, 2G. */
  size?: string;
  /** Host files or folders copied into the file system. */
  add?: { host: string; guest: string }[];
  busybox?: string;
}

/**
 * A qcow2 disk holding an ext4 file system with busybox as its userland, made without root:
 * mke2fs -d fills the file system from a staged folder, qemu-img turns it into qcow2 (so the
 * disk can hold live and offline snapshots). An existing file is never overwritten.
 */
export async function buildRootfsImage(opts: RootfsImageOptions): Promise<void> {
  if (existsSync(opts.out)) throw new KdiveError(`${opts.out} already exists; kdive does not overwrite disk images`, 2);
  const busybox = opts.busybox ?? (await findStaticBusybox());
  const work = await mkdtemp(path.join(os.tmpdir(), 'kdive-rootfs-'));
  try {
    const stage = path.join(work, 'root');
    for (const dir of ROOT_DIRECTORIES) await mkdir(path.join(stage, dir), { recursive: true, mode: dir === 'tmp' ? 0o1777 : 0o755 });
    await copyFile(busybox, path.join(stage, 'bin/busybox'));
    for (const applet of await listApplets(busybox)) {
      if (applet !== 'busybox') await symlink('busybox', path.join(stage, 'bin', applet));
    }
    for (const { host, guest } of opts.add ?? []) {
      if (!existsSync(host)) throw new KdiveError(`--add ${host}: no such file or folder`, 2);
      const target = path.join(stage, guest.replace(/^\/+/, ''));
      await mkdir(path.dirname(target), { recursive: true });
      await cp(host, target, { recursive: true, verbatimSymlinks: true });
    }
    const raw = path.join(work, 'root.ext4');
    await tool(existsSync('/usr/sbin/mke2fs') ? '/usr/sbin/mke2fs' : 'mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'kdive-root', '-E', 'root_owner=0:0', '-d', stage, raw, opts.size ?? '256M'], 'e2fsprogs', `cannot make the file system for ${opts.out}`);
    await tool('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, opts.out], 'qemu-utils', `cannot write ${opts.out}`);
  } catch (err) {
    await rm(opts.out, { force: true });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function tool(program: string, args: string[], debianPackage: string, what: string): Promise<void> {
  try {
    await run(program, args, { maxBuffer: 1 << 22 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new MissingDependencyError(program, debianPackage);
    throw new KdiveError(`${what}: ${program}: ${(e.stderr ?? e.message).trim().split('\n').pop()}`);
  }
}
