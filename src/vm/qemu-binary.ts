import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KdiveError, MissingDependencyError } from '../errors.js';

export const QEMU_X86_64 = 'qemu-system-x86_64';

/** Which qemu-system-x86_64 kdive runs: the system's, or one unpacked from Debian packages (kdive qemu fetch). */
export interface QemuBinary {
  /** The program: a name looked up in PATH, or an absolute path. */
  path: string;
  /**
   * The folder a Debian QEMU was unpacked into (ROOT/usr/bin/qemu-system-x86_64). Debian's QEMU
   * looks for its firmware and modules in /usr only, so an unpacked one is told where they are.
   */
  root?: string;
}

/** The system's QEMU (qemu-system-x86 from Debian 12: 7.2). */
export const SYSTEM_QEMU: QemuBinary = { path: QEMU_X86_64 };

const versions = new Map<string, string>();

/** The QEMU version string (e.g. 7.2.22, 10.0.2), or a clear "install qemu-system-x86" error. */
export function qemuVersion(binary: QemuBinary = SYSTEM_QEMU): string {
  const known = versions.get(binary.path);
  if (known) return known;
  let out: string;
  try {
    out = execFileSync(binary.path, ['--version'], { encoding: 'utf8', env: qemuEnvironment(binary), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (binary === SYSTEM_QEMU || binary.path === QEMU_X86_64) throw new MissingDependencyError(QEMU_X86_64, 'qemu-system-x86');
    const e = err as { stderr?: string; message: string };
    throw new KdiveError(`${binary.path} --version failed: ${(e.stderr ?? '').trim().split('\n').pop() || e.message}`);
  }
  const version = /version\s+(\S+)/.exec(out)?.[1] ?? out.split('\n')[0]!;
  versions.set(binary.path, version);
  return version;
}

/**
 * Arguments an unpacked QEMU needs before any other. Without `-L` for its own firmware folders it
 * takes the system's older SeaBIOS (boot then stalls ~32 s under QEMU 10); without `-audio none`
 * it may load the system's QEMU 7.2 audio module and abort ("Only modules from the same build").
 * The system's QEMU gets none: its command line stays as it always was.
 */
export function qemuRuntimeArgs(binary: QemuBinary): string[] {
  if (!binary.root) return [];
  const firmware = ['usr/share/qemu', 'usr/share/seabios', 'usr/lib/ipxe/qemu'];
  return [...firmware.flatMap((dir) => ['-L', path.join(binary.root!, dir)]), '-audio', 'none'];
}

/** The environment for QEMU: an unpacked one loads its modules (accelerators, devices) from its own folder. */
export function qemuEnvironment(binary: QemuBinary, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!binary.root) return env;
  return { ...env, QEMU_MODULE_DIR: path.join(binary.root, 'usr/lib/x86_64-linux-gnu/qemu') };
}

/**
 * A qemu-system-x86_64 given by its path. One inside an unpacked Debian tree
 * (ROOT/usr/bin/qemu-system-x86_64 with ROOT/usr/share/qemu beside it, ROOT not /) gets its root.
 */
export function qemuAtPath(file: string): QemuBinary {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new KdiveError(`--qemu ${file}: no such file (expected system, 10, or the path of a qemu-system-x86_64)`, 2);
  const root = path.resolve(path.dirname(abs), '../..');
  const unpacked = path.basename(path.dirname(abs)) === 'bin' && path.basename(path.dirname(path.dirname(abs))) === 'usr' && root !== '/' && existsSync(path.join(root, 'usr/share/qemu'));
  return unpacked ? { path: abs, root } : { path: abs };
}

/** How to start `binary` with `args`: the program, its runtime arguments first, and its environment. */
export function qemuCommand(binary: QemuBinary, args: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  return { file: binary.path, args: [...qemuRuntimeArgs(binary), ...args], env: qemuEnvironment(binary) };
}
