import { kdiveCacheDir } from '../cache-dir.js';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRunDir } from './run-dir.js';
import { registerChild, unregisterChild } from './process-reaper.js';
import { qemuCommand, qemuVersion, SYSTEM_QEMU, type QemuBinary } from './qemu-binary.js';

export type Accel = 'kvm' | 'tcg';

/** Where a decision came from: KDIVE_ACCEL, the cache file, a probe run now, or no usable /dev/kvm. */
export type AccelSource = 'env' | 'cache' | 'probe' | 'no-kvm-device';

export interface AccelDecision {
  accel: Accel;
  source: AccelSource;
}

const PROBE_TIMEOUT_MS = 3000;

/** What the probe guest writes to COM1: long enough that no BIOS text can be mistaken for it. */
export const PROBE_MESSAGE = 'kdive-probe-ok';

/**
 * A 512-byte boot sector that writes PROBE_MESSAGE to COM1 (port 0x3f8) and halts.
 * Seeing it proves the accelerator really runs guest code; on some hosts /dev/kvm opens fine
 * and then hangs at "Booting from ROM".
 */
export function probeBootSector(): Buffer {
  const sector = Buffer.alloc(512);
  const code = [
    0xfa, //             cli
    0x31, 0xc0, //       xor ax, ax
    0x8e, 0xd8, //       mov ds, ax
    0xfc, //             cld
    0xba, 0xf8, 0x03, // mov dx, 0x3f8
    0xbe, 0x17, 0x7c, // mov si, 0x7c17 (the message, right after the code)
    0xac, //             next: lodsb
    0x84, 0xc0, //       test al, al
    0x74, 0x03, //       jz done
    0xee, //             out dx, al
    0xeb, 0xf8, //       jmp next
    0xf4, //             done: hlt
    0xeb, 0xfd, //       jmp done
  ];
  Buffer.from(code).copy(sector);
  Buffer.from(`${PROBE_MESSAGE}\n\0`, 'latin1').copy(sector, code.length); // code.length = 0x17
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** 'kvm' when it really works, else 'tcg'. KDIVE_ACCEL overrides; the answer is cached per QEMU version and host kernel. */
export async function chooseAccelerator(cacheDir = defaultCacheDir(), qemu: QemuBinary = SYSTEM_QEMU): Promise<Accel> {
  return (await probeAccelerator({ cacheDir, qemu })).accel;
}

/** chooseAccelerator, saying where the answer came from. */
export async function probeAccelerator(opts: { cacheDir?: string; timeoutMs?: number; qemu?: QemuBinary } = {}): Promise<AccelDecision> {
  const qemu = opts.qemu ?? SYSTEM_QEMU;
  const forced = process.env.KDIVE_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, source: 'env' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', source: 'no-kvm-device' };
  }
  const key = accelCacheKey(qemu);
  const cacheFile = path.join(opts.cacheDir ?? defaultCacheDir(), 'accel-probe.json');
  // One answer per QEMU version and host kernel: switching between --qemu system and 10 probes each once.
  let answers: Record<string, { accel: Accel; probedAt?: string }> = {};
  try {
    answers = JSON.parse(readFileSync(cacheFile, 'utf8')) as typeof answers;
    const cached = answers[key]?.accel;
    if (cached === 'kvm' || cached === 'tcg') return { accel: cached, source: 'cache' };
  } catch {
    // no cache yet, or an unreadable one: probe again
  }
  const accel: Accel = (await acceleratorRunsGuestCode('kvm', opts.timeoutMs ?? PROBE_TIMEOUT_MS, qemu)) ? 'kvm' : 'tcg';
  try {
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ ...answers, [key]: { accel, probedAt: new Date().toISOString() } })}\n`);
    renameSync(tmp, cacheFile);
  } catch {
    // a read-only cache only costs a probe next time
  }
  return { accel, source: 'probe' };
}

/** The cache key: a QEMU upgrade, another QEMU (--qemu) or another host kernel can change the answer. */
export function accelCacheKey(qemu: QemuBinary = SYSTEM_QEMU): string {
  return `${qemuVersion(qemu)} ${os.release()}`;
}

/** kdive's cache folder (see cache-dir.ts). */
export const defaultCacheDir = kdiveCacheDir;

/** Boots probeBootSector() under `accel` and says whether its message reached the serial port in time. */
export async function acceleratorRunsGuestCode(accel: Accel, timeoutMs = PROBE_TIMEOUT_MS, qemu: QemuBinary = SYSTEM_QEMU): Promise<boolean> {
  const run = createRunDir('kdive-accel-probe-');
  const image = path.join(run.path, 'boot.img');
  writeFileSync(image, probeBootSector());
  // SeaBIOS does not boot a one-sector disk behind q35's AHCI: make it 1 MiB (sparse).
  truncateSync(image, 1 << 20);
  try {
    return await new Promise<boolean>((resolve) => {
      const command = qemuCommand(qemu, [
        // The same machine and CPU model as real launches: on some hosts only `-cpu host` trips an MSR abort.
        '-accel', accel, '-machine', 'q35', '-cpu', accel === 'kvm' ? 'host' : 'max',
        '-display', 'none', '-monitor', 'none', '-nodefaults', '-serial', 'stdio',
        '-drive', `file=${image},format=raw,if=ide`, '-m', '16', '-no-reboot',
      ]);
      const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true, env: command.env });
      if (child.pid !== undefined) registerChild({ pid: child.pid });
      let seen = '';
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // gone already
          }
          unregisterChild(child.pid);
        }
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        if (seen.includes(PROBE_MESSAGE)) finish(true);
      });
      child.on('error', () => finish(false));
      child.on('exit', () => finish(false));
    });
  } finally {
    run.remove();
  }
}
