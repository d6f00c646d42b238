import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A private (0700) folder for one VM's sockets and logs, removed when the VM is done. */
export function createRunDir(prefix = 'kdive-'): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix)); // mkdtemp creates it 0700
  return {
    path: dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
