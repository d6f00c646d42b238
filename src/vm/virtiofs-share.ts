import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { KdiveError, MissingDependencyError } from '../errors.js';
import { registerChild, unregisterChild } from './process-reaper.js';

/** A host folder the guest mounts with virtiofs. */
export interface SharedFolder {
  host: string;
  /** Where the guest mounts it. */
  guest: string;
}

/** QEMU 7.2 ships the C virtiofsd here (qemu-system-common). */
const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';

/** `HOSTDIR[:GUESTDIR]` as written with --share; the guest folder defaults to /mnt/BASENAME. */
export function parseSharedFolder(spec: string): SharedFolder {
  const colon = spec.lastIndexOf(':');
  const host = path.resolve(colon > 0 ? spec.slice(0, colon) : spec);
  const guest = colon > 0 ? spec.slice(colon + 1) : `/mnt/${path.basename(host) || 'share'}`;
  if (!guest.startsWith('/') || /['"\s\\$`]/.test(guest)) throw new KdiveError(`--share ${spec}: the guest folder must be an absolute path without spaces or quotes`, 2);
  let isDir = false;
  try {
    isDir = statSync(host).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new KdiveError(`--share ${spec}: ${host} is not a folder on the host`, 2);
  return { host, guest };
}

export interface RunningVirtiofsd {
  socket: string;
  stop(): void;
}

/**
 * Starts virtiofsd serving `share.host` on a vhost-user socket in the run folder; it ends on its
 * own when QEMU disconnects, and stop() ends it otherwise.
 */
export async function startVirtiofsd(share: SharedFolder, socket: string): Promise<RunningVirtiofsd> {
  if (!existsSync(VIRTIOFSD)) throw new MissingDependencyError(VIRTIOFSD, 'qemu-system-common');
  if (process.getuid?.() !== 0) {
    throw new KdiveError(`--share ${share.host}: QEMU 7.2's virtiofsd must run as root (it sandboxes itself with setgroups and namespaces); run kdive as root`, 2);
  }
  const child = spawn(VIRTIOFSD, [`--socket-path=${socket}`, '-o', `source=${share.host}`, '-o', 'cache=none'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    if (child.pid) unregisterChild(child.pid);
  });
  child.once('error', () => (exited = true));
  if (child.pid) registerChild({ pid: child.pid });
  const stop = () => {
    if (exited || !child.pid) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  for (let waited = 0; !existsSync(socket); waited += 50) {
    if (exited || waited > 10_000) {
      stop();
      const last = stderr.trim().split('\n').pop() || 'no message';
      throw new KdiveError(`--share ${share.host}: virtiofsd did not start: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { socket, stop };
}
