import { buildKernel } from '../../src/kernels/build/kernel-build.js';
import './own-resources.js'; // this test's QEMUs and folders are told from other people's, and its TMPDIR is removed at exit
import { resolveKernel, type KernelArtifacts } from '../../src/kernels/index.js';
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';

let cached: Promise<{ kernel: KernelArtifacts; spec: string }> | undefined;

function build(): Promise<{ kernel: KernelArtifacts; spec: string }> {
  cached ??= buildKernel({ source: 'debian:linux-source-6.1', fragment: 'kgdb', progress: new TerminalProgress() }).then(async (b) => ({ kernel: await resolveKernel(`build:${b.dir}`), spec: `build:${b.dir}` }));
  return cached;
}

/** The KGDB kernel built from Debian's linux-source (cached under ~/.cache/kdive/builds: ~8 min once). */
export async function getKgdbKernel(): Promise<KernelArtifacts> {
  return (await build()).kernel;
}

/** The same kernel as a --kernel SPEC (`build:DIR`), for the CLI and DAP's launch. */
export async function getKgdbKernelSpec(): Promise<string> {
  return (await build()).spec;
}
