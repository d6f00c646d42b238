import { spawn, type ChildProcess } from 'node:child_process';
import { freeLoopbackPort } from '../../src/vm/free-port.js';

/**
 * QEMU with no kernel, halted at the x86 reset vector (SeaBIOS not yet run): a real gdbstub
 * to test the RSP client against without booting anything.
 */
export async function startBareQemu(): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freeLoopbackPort();
  const child = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-display', 'none', '-S', '-gdb', `tcp:127.0.0.1:${port}`,
    '-m', '64', '-serial', 'none', '-monitor', 'none', '-nodefaults',
  ], { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    port,
    child,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}
