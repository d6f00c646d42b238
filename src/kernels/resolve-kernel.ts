import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { resolveDebianKernel } from './debian-kernel.js';
import { resolveFileKernel } from './file-kernel.js';
import type { KernelArtifacts } from './kernel-artifacts.js';
import { parseKernelSpec } from './kernel-spec.js';

export interface ResolveKernelOptions {
  vmlinux?: string;
  cacheDir?: string;
  progress?: ProgressReporter;
  /** For debian: specs, also fetch the -dbg package (default true). */
  withDebug?: boolean;
}

/** A kernel built by `kdive kernel build` (or any out-of-tree build folder): bzImage, vmlinux, .config. */
function resolveBuiltKernel(dir: string, vmlinux?: string): KernelArtifacts {
  const bzImage = path.join(dir, 'arch/x86/boot/bzImage');
  if (!existsSync(bzImage)) throw new KdiveError(`--kernel build:${dir}: no arch/x86/boot/bzImage there (kdive kernel build prints the folder to use)`, 2);
  const release = existsSync(path.join(dir, 'include/config/kernel.release')) ? readFileSync(path.join(dir, 'include/config/kernel.release'), 'utf8').trim() : path.basename(dir);
  const own = path.join(dir, 'vmlinux');
  return { spec: `build:${dir}`, version: release, bzImage, vmlinux: vmlinux ?? (existsSync(own) ? own : undefined), config: existsSync(path.join(dir, '.config')) ? path.join(dir, '.config') : undefined };
}

/** A kernel SPEC (`debian:cloud-amd64`, a bzImage path) to files ready to boot and debug. */
export async function resolveKernel(spec: string, opts: ResolveKernelOptions = {}): Promise<KernelArtifacts> {
  const parsed = parseKernelSpec(spec);
  const progress = opts.progress ?? silentProgress;
  switch (parsed.kind) {
    case 'debian': {
      const k = await resolveDebianKernel(parsed.flavour, { cacheDir: opts.cacheDir, progress, withDebug: opts.withDebug, suite: parsed.suite });
      return opts.vmlinux ? { ...k, vmlinux: opts.vmlinux } : k;
    }
    case 'file':
      return resolveFileKernel(parsed.bzImage, opts.vmlinux);
    case 'build':
      return resolveBuiltKernel(parsed.dir, opts.vmlinux);
  }
}
