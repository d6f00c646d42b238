import { resolveKernel, type KernelArtifacts } from '../../src/kernels/index.js';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';

let cached: Promise<KernelArtifacts> | undefined;

/** The Debian cloud kernel and its symbols, from the cache (fetched once on a fresh machine). */
export function getDebianKernel(): Promise<KernelArtifacts> {
  cached ??= resolveKernel('debian:cloud-amd64', { progress: new TerminalProgress() });
  return cached;
}
