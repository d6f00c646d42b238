import type { Command } from 'commander';
import { fetchDebianSource, resolveKernel } from '../../kernels/index.js';
import { TerminalProgress } from '../progress/terminal-progress.js';

/** `kdive kernel fetch SPEC`: put a kernel and its symbols in the cache and print where they are. */
export function registerKernelCommand(program: Command): void {
  const kernel = program.command('kernel').description('kernels to debug: fetch, (later) build');
  kernel
    .command('fetch')
    .argument('[spec]', "kernel spec, e.g. 'debian:cloud-amd64'", 'debian:cloud-amd64')
    .option('--json', 'print the artifact paths as JSON')
    .option('--source', 'also fetch and unpack the matching kernel source tree (linux-source-X.Y)')
    .description('download a distro kernel with its debug symbols into ~/.cache/kdive')
    .action(async (spec: string, opts: { json?: boolean; source?: boolean }) => {
      const progress = new TerminalProgress({ quiet: false });
      const k = await resolveKernel(spec, { progress });
      const source = opts.source ? await fetchDebianSource(k, { progress }) : undefined;
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...k, ...(source ? { source } : {}) })}\n`);
      else process.stdout.write(`${k.version}\n  bzImage: ${k.bzImage}\n  vmlinux: ${k.vmlinux ?? '(none)'}\n${source ? `  source:  ${source}\n` : ''}`);
    });
}
