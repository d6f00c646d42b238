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

/** A kernel SPEC (`debian:cloud-amd64`, a bzImage path) to files ready to boot and debug. */
export async function resolveKernel(spec: string, opts: ResolveKernelOptions = {}): Promise<KernelArtifacts> {
  const parsed = parseKernelSpec(spec);
  const progress = opts.progress ?? silentProgress;
  switch (parsed.kind) {
    case 'debian': {
      const k = await resolveDebianKernel(parsed.flavour, { cacheDir: opts.cacheDir, progress, withDebug: opts.withDebug });
      return opts.vmlinux ? { ...k, vmlinux: opts.vmlinux } : k;
    }
    case 'file':
      return resolveFileKernel(parsed.bzImage, opts.vmlinux);
    case 'build':
      throw new KdiveError(`--kernel build:${parsed.dir}: building a kernel from a source tree is not yet supported; use --kernel debian:cloud-amd64 or pass a bzImage path with --vmlinux`, 2);
  }
}
