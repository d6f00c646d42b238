import path from 'node:path';
import { KdiveError } from '../errors.js';
import { createImage } from './disk-image.js';
import type { QmpClient } from './qmp-client.js';

/**
 * savevm keeps the VM state in a qcow2 image: a scratch one in the run folder, attached to no
 * guest device. Returns QEMU's arguments for it.
 */
export async function scratchSnapshotDisk(runDir: string): Promise<string[]> {
  const disk = path.join(runDir, 'snapshots.qcow2');
  await createImage(disk, '64M');
  return ['-drive', `file=${disk},format=qcow2,if=none,id=kdive-snapshots`];
}

/**
 * Snapshots of a running VM (RAM, devices and disks) through QEMU's savevm/loadvm, reached
 * over QMP's human-monitor-command. They live in the VM's qcow2 disk.
 */
async function hmp(qmp: QmpClient, command: string): Promise<string> {
  const out = await qmp.execute<string>('human-monitor-command', { 'command-line': command }, 600_000);
  // HMP reports failures as text, not as a QMP error.
  const error = /^Error: (.*)$/m.exec(out) ?? /^(.*(?:does not exist|No block device|not support|cannot).*)$/im.exec(out);
  if (error) throw new KdiveError(`${command}: ${error[1]!.trim()}`);
  return out;
}

export async function saveSnapshot(qmp: QmpClient, name: string): Promise<void> {
  if (!/^[\w.-]+$/.test(name)) throw new KdiveError(`bad snapshot name '${name}': letters, digits, . _ - only`);
  await hmp(qmp, `savevm ${name}`);
}

export async function loadSnapshot(qmp: QmpClient, name: string): Promise<void> {
  if (!(await listSnapshots(qmp)).includes(name)) throw new KdiveError(`no snapshot named '${name}' (kdive snapshot list shows them)`);
  await hmp(qmp, `loadvm ${name}`);
}

export async function deleteSnapshot(qmp: QmpClient, name: string): Promise<void> {
  await hmp(qmp, `delvm ${name}`);
}

/** Names of the VM's snapshots (`info snapshots`). */
export async function listSnapshots(qmp: QmpClient): Promise<string[]> {
  const out = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info snapshots' });
  const names: string[] = [];
  for (const line of out.split(/\r?\n/)) {
    // `--        x1                1.4 MiB 2026-11-22 15:37:31 00:00:00.000`
    const m = /^(?:--|\d+)\s+(\S+)\s+[\d.]+\s*\S*\s+\d{4}-\d\d-\d\d/.exec(line.trim());
    if (m) names.push(m[1]!);
  }
  return names;
}
