/**
 * What a test file made, told apart from what other people on the same machine make: the QEMUs
 * it started (directly, through `kdive`, or through a library Session) and the scratch folders
 * it created. Other test runs, other engineers' QEMUs and their temporary folders are not ours
 * to count or remove.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every process this test process starts inherits this variable (spawn passes process.env on by
 * default, and kdive passes it to QEMU the same way), so a QEMU is ours when its environment has it.
 */
export const OWNER_VARIABLE = 'KDIVE_TEST_OWNER';
const owner = `${process.pid}-${randomUUID()}`;
process.env[OWNER_VARIABLE] = owner;

/** Pids of running processes whose program name starts with `program` and that this test process started. */
export function ownProcesses(program: string): Set<number> {
  const mark = `${OWNER_VARIABLE}=${owner}`;
  const found = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv0: string;
    let environ: string;
    try {
      argv0 = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0')[0] ?? '';
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // gone meanwhile, or someone else's process we may not read: not ours either way
    }
    if (path.basename(argv0).startsWith(program) && environ.split('\0').includes(mark)) found.add(Number(entry));
  }
  return found;
}

/**
 * This test process's own temporary folder, removed when it exits (however its tests ended). It
 * becomes TMPDIR for the process and everything it starts, so kdive's run folders, QEMU's files and
 * the fixtures of every test land in it, not loose in /tmp.
 */
export const TEST_TMPDIR = mkdtempSync(path.join(os.tmpdir(), 'kdive-tests-'));
process.env.TMPDIR = TEST_TMPDIR;
process.on('exit', () => rmSync(TEST_TMPDIR, { recursive: true, force: true }));

/** A fresh folder for a test's fixtures, inside TEST_TMPDIR. */
export function scratchDir(prefix = 'kdive-test-'): string {
  return mkdtempSync(path.join(TEST_TMPDIR, prefix));
}

/** The run folders kdive made (kdive-session-*, kdive-boot-*, kdive-vm-*...) still in TEST_TMPDIR: a leak, once kdive is done. */
export function kdiveRunFolders(): string[] {
  return readdirSync(TEST_TMPDIR).filter((n) => /^kdive-(session|boot|vm|kgdb|accel-probe|rootfs)-/.test(n));
}

/** Removes a folder scratchDir() gave (before the process ends, when a test wants it gone sooner). */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
