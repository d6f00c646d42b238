import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FormatError, KdiveError, MissingDependencyError } from '../errors.js';
import { readQcow2Header } from './qcow2-header-file.js';

const run = promisify(execFile);

/** qemu-img's view of an image. */
export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize?: number;
  snapshots: ImageSnapshot[];
}

export interface ImageSnapshot {
  id: string;
  name: string;
  vmStateSize: number;
  date: string;
}

/** Runs qemu-img; its own error text (the last line, without the program name) becomes the message. */
async function qemuImg(args: string[], what: string): Promise<string> {
  try {
    return (await run('qemu-img', args, { maxBuffer: 1 << 24 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new MissingDependencyError('qemu-img', 'qemu-utils');
    const msg = (e.stderr ?? e.message).trim().split('\n').pop()!.replace(/^qemu-img: /, '');
    throw new KdiveError(`${what}: ${msg}`);
  }
}

/** A new qcow2 image (`size` as qemu-img takes it: 64M, 2G). */
export async function createImage(file: string, size: string): Promise<void> {
  await qemuImg(['create', '-q', '-f', 'qcow2', file, size], `cannot create ${file}`);
}

export async function imageInfo(file: string): Promise<ImageInfo> {
  await refuseCorruptQcow2(file);
  const json = JSON.parse(await qemuImg(['info', '--output=json', '-U', file], `cannot read ${file}`)) as {
    format: string;
    'virtual-size': number;
    'actual-size'?: number;
    snapshots?: { id: string; name: string; 'vm-state-size': number; 'date-sec': number }[];
  };
  return {
    format: json.format,
    virtualSize: json['virtual-size'],
    actualSize: json['actual-size'],
    snapshots: (json.snapshots ?? []).map((s) => ({ id: s.id, name: s.name, vmStateSize: s['vm-state-size'], date: new Date(s['date-sec'] * 1000).toISOString() })),
  };
}

/**
 * A qcow2 image's header is checked before qemu-img or QEMU read it, so a corrupt one is refused in
 * one line naming the field and its offset (qemu-img says less, QEMU fails only once started).
 */
async function refuseCorruptQcow2(file: string): Promise<void> {
  try {
    await readQcow2Header(file);
  } catch (err) {
    if (err instanceof FormatError) throw new KdiveError(`cannot read ${err.message}`, 1, { cause: err });
    // Not there, not readable, a folder: qemu-img says so in its own words, as for any image.
    if ((err as NodeJS.ErrnoException).code !== undefined) return;
    throw err;
  }
}

export async function resizeImage(file: string, size: string): Promise<void> {
  await requireQcow2(file);
  await qemuImg(['resize', '-q', file, size], `cannot resize ${file}`);
}

async function requireQcow2(file: string): Promise<void> {
  const info = await imageInfo(file);
  if (info.format !== 'qcow2') throw new KdiveError(`${file} is a ${info.format} image: snapshots need qcow2`);
}

/** Offline snapshots of a stopped image: create, apply (revert to), delete. */
export async function snapshotImage(file: string, action: 'create' | 'apply' | 'delete', name: string): Promise<void> {
  await requireQcow2(file);
  if (action !== 'create' && !(await imageInfo(file)).snapshots.some((s) => s.name === name)) {
    throw new KdiveError(`${file} has no snapshot named '${name}'`);
  }
  const flag = { create: '-c', apply: '-a', delete: '-d' }[action];
  await qemuImg(['snapshot', flag, name, file], `cannot ${action} snapshot '${name}' of ${file}`);
}
