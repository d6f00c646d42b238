import { buildKernel } from '../../src/kernels/build/kernel-build.js';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import { resolveKernel, type KernelArtifacts } from '../../src/kernels/index.js';
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';

let cached: Promise<KernelArtifacts> | undefined;

/** The KGDB kernel built from Debian's linux-source (cached under ~/.cache/kdive/builds: ~8 min once). */
export function getKgdbKernel(): Promise<KernelArtifacts> {
  cached ??= buildKernel({ source: 'debian:linux-source-6.1', fragment: 'kgdb', progress: new TerminalProgress() }).then((b) => resolveKernel(`build:${b.dir}`));
  return cached;
}
