import os from 'node:os';
import path from 'node:path';

/**
 * kdive's cache (kernels, builds, the DWARF name index, REPL history): $KDIVE_CACHE, else
 * ~/.cache/kdive. An empty KDIVE_CACHE counts as unset, everywhere alike.
 */
export function kdiveCacheDir(): string {
  return process.env.KDIVE_CACHE || path.join(os.homedir(), '.cache', 'kdive');
}
