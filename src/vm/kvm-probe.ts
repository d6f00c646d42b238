import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRunDir } from './run-dir.js';
import { QEMU_X86_64, qemuVersion } from './qemu-binary.js';

export type Accel = 'kvm' | 'tcg';

const PROBE_TIMEOUT_MS = 4000;

/**
 * A 512-byte boot sector: write 'K' to COM1 and halt. Seeing the 'K' proves KVM really runs
 * guest code; on some hosts /dev/kvm opens fine and then hangs at "Booting from ROM".
 */
function probeBootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from([0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xf4, 0xeb, 0xfd]).copy(sector); // mov dx,3f8; mov al,'K'; out dx,al; hlt; jmp $-1
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** 'kvm' when it really works, else 'tcg'. KDIVE_ACCEL overrides; the answer is cached per QEMU and host kernel. */
export async function chooseAccelerator(cacheDir = defaultCacheDir()): Promise<Accel> {
  const forced = process.env.KDIVE_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const key = `${qemuVersion()} ${os.release()}`;
  const cacheFile = path.join(cacheDir, 'accel-probe.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; accel: Accel };
    if (cached.key === key && (cached.accel === 'kvm' || cached.accel === 'tcg')) return cached.accel;
  } catch {
    // no cache yet
  }
  const accel = (await kvmRunsGuestCode()) ? 'kvm' : 'tcg';
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify({ key, accel }));
  } catch {
    // a read-only cache only costs a probe next time
  }
  return accel;
}

export function defaultCacheDir(): string {
  return process.env.KDIVE_CACHE ?? path.join(os.homedir(), '.cache', 'kdive');
}

async function kvmRunsGuestCode(): Promise<boolean> {
  const run = createRunDir('kdive-kvm-probe-');
  const image = path.join(run.path, 'boot.img');
  writeFileSync(image, probeBootSector());
  try {
    return await new Promise<boolean>((resolve) => {
      const child = spawn(QEMU_X86_64, [
        // The same machine and CPU model as real launches: on some hosts only `-cpu host` trips an MSR abort.
        '-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-display', 'none', '-monitor', 'none', '-nodefaults', '-serial', 'stdio',
        '-drive', `file=${image},format=raw,if=ide`, '-m', '16', '-no-reboot',
      ], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone already
        }
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
      child.stdout.on('data', (d: Buffer) => {
        if (d.includes('K')) finish(true);
      });
      child.on('error', () => finish(false));
      child.on('exit', () => finish(false));
    });
  } finally {
    run.remove();
  }
}
