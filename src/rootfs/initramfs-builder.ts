import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { KdiveError } from '../errors.js';
import { findStaticBusybox } from './busybox.js';
import { CpioNewcWriter } from './cpio-newc-writer.js';
import { GUEST_MODULE_DIR, guestInitScript } from './guest-init.js';

export interface InitramfsOptions {
  guestCommand: string;
  out: string;
  /** Host files or folders copied into the archive. */
  add?: { host: string; guest: string }[];
  /** Shell lines /init runs before the guest command. */
  extraInit?: string;
  /** Empty folders to create (mount points). */
  directories?: readonly string[];
  /** Kernel modules (.ko host paths) /init loads first, in this order. */
  modules?: readonly string[];
  busybox?: string;
}

/** The folders of a busybox root, in creation order. */
export const ROOT_DIRECTORIES = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'mnt', 'var'];

/** Writes a gzip-compressed newc initramfs with busybox as its userland and our /init. */
export async function buildInitramfs(opts: InitramfsOptions): Promise<string> {
  const busybox = opts.busybox ?? (await findStaticBusybox());
  const applets = await listApplets(busybox);
  const stream = new PassThrough();
  const done = pipeline(stream, createGzip({ level: 6 }), createWriteStream(opts.out, { mode: 0o644 }));
  // An output that cannot be opened fails `done` long before it is awaited: not an unhandled
  // rejection (a crash with a stack), but the error the catch below reports.
  done.catch(() => {});
  const cpio = new CpioNewcWriter(stream);
  try {
    for (const dir of ROOT_DIRECTORIES) await cpio.addDirectory(dir, dir === 'tmp' ? 0o1777 : 0o755);
    await cpio.addDevice('dev/console', 'c', 5, 1, 0o600);
    await cpio.addDevice('dev/null', 'c', 1, 3, 0o666);
    const size = (await stat(busybox)).size;
    await cpio.addFileFromDisk('bin/busybox', busybox, size, 0o755);
    for (const applet of applets) {
      if (applet === 'busybox') continue;
      await cpio.addSymlink(`bin/${applet}`, 'busybox');
    }
    const modules = (opts.modules ?? []).map((host) => ({ host, guest: `${GUEST_MODULE_DIR}/${path.basename(host)}` }));
    await cpio.addFile('init', Buffer.from(guestInitScript(opts.guestCommand, { extraInit: opts.extraInit, modules: modules.map((m) => m.guest) })), 0o755);
    const made = new Set(ROOT_DIRECTORIES);
    // The kernel's unpacker does not create missing parents: each folder goes in before what is in it.
    const addParents = async (target: string, withSelf: boolean) => {
      const parts = target.split('/');
      for (let i = 1; i <= (withSelf ? parts.length : parts.length - 1); i++) {
        const dir = parts.slice(0, i).join('/');
        if (!made.has(dir)) await cpio.addDirectory(dir, 0o755);
        made.add(dir);
      }
    };
    for (const dir of opts.directories ?? []) await addParents(dir.replace(/^\/+/, '').replace(/\/+$/, ''), true);
    for (const { host, guest } of [...modules, ...(opts.add ?? [])]) {
      const target = guest.replace(/^\/+/, '').replace(/\/+$/, '');
      await addParents(target, false);
      await addTree(cpio, host, target);
    }
    await cpio.finish();
    stream.end();
    await done;
  } catch (err) {
    stream.destroy();
    const writeError = await done.then(() => undefined, (e: Error) => e);
    if (err instanceof KdiveError) throw err;
    // Writing into a pipeline its output already ended says only that: the output's error is the cause.
    const cause = (err as NodeJS.ErrnoException).code === 'ERR_STREAM_DESTROYED' && writeError ? writeError : (err as Error);
    throw new KdiveError(`cannot build the initramfs ${opts.out}: ${cause.message}`);
  }
  return opts.out;
}

/** The applet names a busybox binary provides (each becomes a symlink to it). */
export async function listApplets(busybox: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(busybox, ['--list']);
  return stdout.split('\n').map((s) => s.trim()).filter((s) => /^[\w.\-[\]]+$/.test(s));
}

async function addTree(cpio: CpioNewcWriter, host: string, guest: string): Promise<void> {
  let st;
  try {
    st = await lstat(host);
  } catch {
    throw new KdiveError(`--add ${host}: no such file or folder`, 2);
  }
  if (st.isSymbolicLink()) await cpio.addSymlink(guest, await readlink(host));
  else if (st.isDirectory()) {
    await cpio.addDirectory(guest, st.mode & 0o7777);
    for (const name of (await readdir(host)).sort()) await addTree(cpio, path.join(host, name), `${guest}/${name}`);
  } else if (st.isFile()) await cpio.addFileFromDisk(guest, host, st.size, st.mode & 0o7777);
}
