import type { Command } from 'commander';
import { fetchDebianSource, resolveKernel } from '../../kernels/index.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { buildKernel } from '../../kernels/build/kernel-build.js';
import { noDebugInfoOption } from './debug-info-option.js';

/** `kdive kernel fetch SPEC`: put a kernel and its symbols in the cache and print where they are. */
export function registerKernelCommand(program: Command): void {
  const kernel = program.command('kernel').description('kernels to debug: fetch a distro kernel, or build one from source');
  kernel
    .command('fetch')
    .argument('[spec]', "kernel spec, e.g. 'debian:cloud-amd64'", 'debian:cloud-amd64')
    .option('--json', 'print the artifact paths as JSON')
    .option('--source', 'also fetch and unpack the matching kernel source tree (linux-source-X.Y)')
    .addOption(noDebugInfoOption())
    .description('download a distro kernel with its debug symbols into ~/.cache/kdive (--no-debuginfo: the kernel package only)')
    .action(async (spec: string, opts: { json?: boolean; source?: boolean; debuginfo?: boolean }) => {
      const progress = new TerminalProgress({ quiet: false });
      const k = await resolveKernel(spec, { progress, withDebug: opts.debuginfo });
      const source = opts.source ? await fetchDebianSource(k, { progress }) : undefined;
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...k, ...(source ? { source } : {}) })}\n`);
      else process.stdout.write(`${k.version}\n  bzImage: ${k.bzImage}\n  vmlinux: ${k.vmlinux ?? '(none)'}\n${source ? `  source:  ${source}\n` : ''}`);
    });
  kernel
    .command('build [source]')
    .description("configure and build a kernel (SOURCE: a source tree, or debian:linux-source-6.1); prints the SPEC build:DIR")
    .option('--fragment <name>', 'configuration: kgdb (small, kgdb on the serial console), minimal, debug (defconfig + debug info)', 'kgdb')
    .option('--out <dir>', 'build here instead of the cache')
    .option('--json', 'print the result as JSON')
    .action(async (source: string | undefined, opts: { fragment: string; out?: string; json?: boolean }) => {
      const progress = new TerminalProgress({ quiet: false });
      const built = await buildKernel({ source: source ?? 'debian:linux-source-6.1', fragment: opts.fragment, out: opts.out, progress });
      if (opts.json) process.stdout.write(`${JSON.stringify({ spec: `build:${built.dir}`, ...built })}\n`);
      else process.stdout.write(`${built.cached ? 'already built' : 'built'}: Linux ${built.release}\n  --kernel build:${built.dir}\n`);
    });
}
