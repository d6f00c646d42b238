import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerCleanup } from './process-reaper.js';

/**
 * A private (0700) folder for one VM's sockets and logs, removed when the VM is done, and on
 * every other way out of the process (an error, Ctrl-C, SIGTERM, SIGHUP), even before QEMU runs.
 */
export function createRunDir(prefix = 'kdive-'): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix)); // mkdtemp creates it 0700
  const removeNow = () => rmSync(dir, { recursive: true, force: true });
  const forget = registerCleanup(removeNow);
  return {
    path: dir,
    remove: () => {
      forget();
      removeNow();
    },
  };
}
