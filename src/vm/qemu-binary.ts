import { execFileSync } from 'node:child_process';
import { MissingDependencyError } from '../errors.js';

export const QEMU_X86_64 = 'qemu-system-x86_64';

/** The QEMU version string, or a clear "install qemu-system-x86" error. */
export function qemuVersion(): string {
  try {
    const out = execFileSync(QEMU_X86_64, ['--version'], { encoding: 'utf8' });
    return /version\s+(\S+)/.exec(out)?.[1] ?? out.split('\n')[0]!;
  } catch {
    throw new MissingDependencyError(QEMU_X86_64, 'qemu-system-x86');
  }
}
