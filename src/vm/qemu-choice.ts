import { KdiveError } from '../errors.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { qemuAtPath, SYSTEM_QEMU, type QemuBinary } from './qemu-binary.js';
import { isQemuRelease, qemuOfRelease, QEMU_RELEASES } from './qemu-fetch.js';

/** What `--qemu` and KDIVE_QEMU take: `system`, a release kdive fetches (`10`), or a binary's path. */
export const QEMU_CHOICE_HELP = `system (the system's qemu-system-x86_64), ${Object.keys(QEMU_RELEASES).join(', ')} (fetched from Debian into kdive's cache on first use), or the path of a qemu-system-x86_64`;

/** `--qemu` when given, else KDIVE_QEMU, else the system's; with the name to blame in an error. */
export function qemuChoice(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { value: string; label: string } {
  if (flag) return { value: flag, label: '--qemu' };
  if (env.KDIVE_QEMU) return { value: env.KDIVE_QEMU, label: 'KDIVE_QEMU=' };
  return { value: 'system', label: '--qemu' };
}

/** Checks a choice's form while the command line is read (exit 2), before anything is fetched or booted. */
export function checkQemuChoice(value: string, label = '--qemu'): string {
  if (value === 'system' || isQemuRelease(value) || value.includes('/')) return value;
  throw new KdiveError(`${label}${label.endsWith('=') ? '' : ' '}${value}: expected ${QEMU_CHOICE_HELP}`, 2);
}

/** The QEMU `--qemu` (or KDIVE_QEMU) names; a release not in the cache yet is fetched now, with progress. */
export async function resolveQemu(flag: string | undefined, progress: ProgressReporter = silentProgress): Promise<QemuBinary> {
  const { value, label } = qemuChoice(flag);
  checkQemuChoice(value, label);
  if (value === 'system') return SYSTEM_QEMU;
  if (isQemuRelease(value)) return qemuOfRelease(value, { progress });
  return qemuAtPath(value);
}
