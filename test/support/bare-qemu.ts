import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import fs from 'node:fs';
import path from 'node:path';
import { freeLoopbackPort } from '../../src/vm/free-port.js';

/**
 * QEMU with no kernel, halted at the x86 reset vector (SeaBIOS not yet run): a real gdbstub
 * to test the RSP client against without booting anything. It runs in its own process group,
 * and stop() kills that group and waits for the exit.
 */
export async function startBareQemu(): Promise<{ port: number; child: ChildProcess; stop(): Promise<void>; gone(): boolean }> {
  const port = await freeLoopbackPort();
  const child = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-display', 'none', '-S', '-gdb', `tcp:127.0.0.1:${port}`,
    '-m', '64', '-serial', 'none', '-monitor', 'none', '-nodefaults',
  ], { stdio: 'ignore', detached: true });
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => {
    exited = true;
    r();
  }));
  return {
    port,
    child,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exit;
    },
    /** True once QEMU exited and nothing is left in its process group. */
    gone: () => {
      if (!exited) return false;
      try {
        process.kill(-child.pid!, 0);
        return false;
      } catch {
        return true;
      }
    },
  };
}

/**
 * The BIOS image QEMU maps below 4 GiB for the default PC machine (bios-256k.bin), looked up in
 * the data directories QEMU itself reports with `-L help`, in its order.
 */
export function qemuBiosImage(): string {
  const dirs = execFileSync('qemu-system-x86_64', ['-L', 'help'], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
  for (const dir of dirs) {
    const file = path.join(dir, 'bios-256k.bin');
    if (fs.existsSync(file)) return fs.realpathSync(file);
  }
  throw new Error(`bios-256k.bin is in none of QEMU's data directories (${dirs.join(', ')})`);
}
