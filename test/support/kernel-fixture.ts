import { resolveKernel, type KernelArtifacts } from '../../src/kernels/index.js';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';
import { resolveQemu } from '../../src/vm/qemu-choice.js';
import type { QemuBinary } from '../../src/vm/index.js';

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

export interface DebianTestKernel {
  name: string;
  spec: string;
  get: () => Promise<KernelArtifacts>;
  /** The QEMU to boot it under (the library's `qemu` option), undefined for the system's. */
  qemu: () => Promise<QemuBinary | undefined>;
  /** The same as CLI flags. */
  qemuFlags: string[];
}

/**
 * Both Debian cloud kernels the kernel-facing tests run on: 6.1 (bookworm) and 6.12
 * (bookworm-backports). 6.12 boots under QEMU 10: under QEMU 7.2's TCG it dies early in about one
 * boot in eight, each time somewhere else (a GP fault in text_poke_early's IRET, a page fault in
 * kmem_cache_alloc after its cmpxchg16b, a double fault), with or without kdive's breakpoints and
 * shared RAM; 12 boots in a row under QEMU 10.0.2 all reached the guest's mkdir (2026-12-03).
 */
export const DEBIAN_KERNELS: DebianTestKernel[] = [
  { name: '6.1', spec: 'debian:cloud-amd64', get: getDebianKernel, qemu: async () => undefined, qemuFlags: [] },
  { name: '6.12', spec: 'debian:cloud-amd64@bookworm-backports', get: getDebianKernel612, qemu: () => resolveQemu('10', new TerminalProgress()), qemuFlags: ['--qemu', '10'] },
];
