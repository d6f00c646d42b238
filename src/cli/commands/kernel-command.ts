import type { Command } from 'commander';
import { fetchDebianSource, resolveKernel } from '../../kernels/index.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { buildKernel } from '../../kernels/build/kernel-build.js';
import { noDebugInfoOption } from './debug-info-option.js';
import { cachedKernels, offeredKernels } from '../../kernels/kernel-list.js';

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
    .command('list')
    .option('--json', 'one JSON object: cached and offered')
    .option('--cached', 'only what is in the cache (no apt question)')
    .description('kernels in the cache, and the Debian kernels each suite offers (the specs to use)')
    .action(async (opts: { json?: boolean; cached?: boolean }) => {
      const progress = new TerminalProgress({ quiet: false });
      const cached = cachedKernels();
      const offered = opts.cached ? [] : await offeredKernels(progress);
      if (opts.json) return void process.stdout.write(`${JSON.stringify({ cached, offered })}\n`);
      process.stdout.write('Cached:\n');
      if (cached.length === 0) process.stdout.write('  (none)\n');
      for (const k of cached) process.stdout.write(`  ${k.package} ${k.version}${k.debug ? '' : '  (no debug symbols)'}\n`);
      if (opts.cached) return;
      process.stdout.write('Offered:\n');
      for (const k of offered) process.stdout.write(`  ${k.spec.padEnd(40)} ${k.package ? `${k.package} ${k.version}` : `(${k.problem})`}\n`);
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
