import { resolveKernel, type KernelArtifacts } from '../../src/kernels/index.js';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';

let cached: Promise<KernelArtifacts> | undefined;

/** The Debian cloud kernel and its symbols, from the cache (fetched once on a fresh machine). */
export function getDebianKernel(): Promise<KernelArtifacts> {
  cached ??= resolveKernel('debian:cloud-amd64', { progress: new TerminalProgress() });
  return cached;
}

let cached612: Promise<KernelArtifacts> | undefined;

/** Debian's 6.12 cloud kernel from bookworm-backports with its symbols (kallsyms in the 6.4+ order, ORC v3, zstd bzImage). */
export function getDebianKernel612(): Promise<KernelArtifacts> {
  cached612 ??= resolveKernel('debian:cloud-amd64@bookworm-backports', { progress: new TerminalProgress() });
  return cached612;
}

/** Both Debian cloud kernels the kernel-facing tests run on: 6.1 (bookworm) and 6.12 (bookworm-backports). */
export const DEBIAN_KERNELS: { name: string; spec: string; get: () => Promise<KernelArtifacts> }[] = [
  { name: '6.1', spec: 'debian:cloud-amd64', get: getDebianKernel },
  { name: '6.12', spec: 'debian:cloud-amd64@bookworm-backports', get: getDebianKernel612 },
];
