import type { Command } from 'commander';
import { KdiveError } from '../../errors.js';
import { qemuVersion, SYSTEM_QEMU } from '../../vm/qemu-binary.js';
import { cachedQemus, fetchQemu, isQemuRelease, QEMU_RELEASES } from '../../vm/qemu-fetch.js';
import { TerminalProgress } from '../progress/terminal-progress.js';

/** `kdive qemu fetch 10`, `kdive qemu list`: QEMUs besides the system's, in kdive's cache. */
export function registerQemuCommand(program: Command): void {
  const qemu = program.command('qemu').description("QEMU releases besides the system's, unpacked into kdive's cache (--qemu picks one)");
  qemu
    .command('fetch')
    .argument('<version>', `the QEMU release: ${Object.keys(QEMU_RELEASES).join(', ')}`)
    .option('--json', 'print the result as JSON')
    .description("download a QEMU release's Debian packages (bookworm-backports) into ~/.cache/kdive/qemu, leaving the system's QEMU and apt sources alone")
    .action(async (version: string, opts: { json?: boolean }) => {
      if (!isQemuRelease(version)) throw new KdiveError(`qemu fetch ${version}: kdive knows QEMU ${Object.keys(QEMU_RELEASES).join(', ')}`, 2);
      const q = await fetchQemu(version, { progress: new TerminalProgress({ quiet: Boolean(opts.json) }) });
      if (opts.json) process.stdout.write(`${JSON.stringify(q)}\n`);
      else process.stdout.write(`QEMU ${q.version}\n  binary: ${q.path}\n  packages: ${q.packages.map((p) => `${p.name} ${p.version}`).join(', ')}\n  use it with --qemu ${q.release} (or KDIVE_QEMU=${q.release})\n`);
    });
  qemu
    .command('list')
    .option('--json', 'print the list as JSON')
    .description("the system's QEMU and those in kdive's cache")
    .action((opts: { json?: boolean }) => {
      let system: string | undefined;
      try {
        system = qemuVersion(SYSTEM_QEMU);
      } catch {
        // no system QEMU: listed as missing; the cached ones still work
      }
      const cached = cachedQemus();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ system: system ? { version: system, path: SYSTEM_QEMU.path } : null, cached })}\n`);
        return;
      }
      process.stdout.write(`system  ${system ? `QEMU ${system} (${SYSTEM_QEMU.path})` : "none (install qemu-system-x86)"}\n`);
      for (const q of cached) process.stdout.write(`${q.release.padEnd(7)} QEMU ${q.version} (${q.path})\n`);
      if (!cached.length) process.stdout.write(`(no other QEMU cached: kdive qemu fetch ${Object.keys(QEMU_RELEASES)[0]})\n`);
    });
}
