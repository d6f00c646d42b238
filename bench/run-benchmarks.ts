/**
 * `npm run bench`: gdb, drgn and kdive on the same work, same machine, one run; writes BENCHMARKS.md.
 *   node dist/bench/run-benchmarks.js [--quick] [--runs N] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveKernel } from '../src/kernels/index.js';
import { TerminalProgress } from '../src/cli/progress/terminal-progress.js';
import type { BenchContext, ItemResult } from './bench-item.js';
import { symbolItems } from './items/symbol-items.js';
import { liveItems } from './items/live-items.js';
import { kgdbItems } from './items/kgdb-items.js';
import { kernelAwarenessItems } from './items/kernel-awareness-items.js';
import { btfItems } from './items/btf-items.js';
import { ensureScriptsGdb } from './scripts-gdb.js';
import { fetchDebianSource } from '../src/kernels/debian-source.js';
import { kdiveCacheDir } from '../src/cache-dir.js';
import { resolveQemu } from '../src/vm/qemu-choice.js';
import { qemuVersion } from '../src/vm/qemu-binary.js';
import { buildKernel } from '../src/kernels/build/kernel-build.js';
import { renderReport } from './report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : quick ? 1 : 3;
const outAt = argv.indexOf('--out');
const out = outAt >= 0 ? argv[outAt + 1]! : path.join(repoRoot, 'BENCHMARKS.md');

const kernel = await resolveKernel('debian:cloud-amd64', { progress: new TerminalProgress() });
// The KGDB kernel for the items over kgdb: built once from Debian's linux-source, then cached.
const kgdbBuild = await buildKernel({ source: 'debian:linux-source-6.1', fragment: 'kgdb', progress: new TerminalProgress() });
const kgdbKernel = await resolveKernel(`build:${kgdbBuild.dir}`);
// The kernel's own lx-ps and lx-dmesg, built from its Debian source with its config (cached).
// Without them (no matching linux-source in the archive) the ps/dmesg items are left out, and the log says why.
const scriptsGdb = await fetchDebianSource(kernel, { progress: new TerminalProgress() })
  .then((tree) => ensureScriptsGdb(tree, path.join(path.dirname(kernel.vmlinux!), 'config'), kdiveCacheDir(), `${kernel.version}-${kernel.packageVersion}`))
  .catch((err: unknown) => {
    process.stderr.write(`bench: no lx-ps/lx-dmesg for ${kernel.version}: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  });
const ctx: BenchContext = {
  quick,
  runs,
  vmlinux: kernel.vmlinux!,
  bzImage: kernel.bzImage,
  kernelVersion: `${kernel.version} (${kernel.packageVersion})`,
  // The installed command (package.json's bin): the bundle `npm run build` writes.
  kdive: [process.execPath, path.join(repoRoot, 'dist/bundle/main.js')],
  repoRoot,
  kgdb: { bzImage: kgdbKernel.bzImage, vmlinux: kgdbKernel.vmlinux!, version: kgdbKernel.version },
  scriptsGdb,
};

const items: ItemResult[] = [];
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
log('symbol look-ups (gdb needs ~30 s per full DWARF load)');
items.push(...(await symbolItems(ctx)));
log('without the -dbg package: ptype from BTF, downloads with and without -dbg');
items.push(...(await btfItems(ctx)));
log('live target: memory, stepping, breakpoint hits, the mkdir scenario');
items.push(...(await liveItems(ctx)));
log('live target on QEMU 10: memory, stepping, breakpoint hits');
const qemu10 = await resolveQemu('10', new TerminalProgress());
items.push(...(await liveItems(ctx, { qemu: qemu10, choice: '10', label: 'QEMU 10' })));
log('kernel awareness: ps and dmesg against the kernel\'s lx-ps and lx-dmesg');
items.push(...(await kernelAwarenessItems(ctx)));
log('over kgdb: breakpoint hits');
items.push(...(await kgdbItems(ctx)));

const version = (cmd: string, args: string[], re: RegExp) => {
  try {
    return re.exec(execFileSync(cmd, args, { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return 'not installed';
  }
};
const report = renderReport(
  {
    date: new Date().toISOString().slice(0, 10),
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    versions: {
      node: process.version,
      gdb: version('gdb', ['--version'], /GNU gdb .*? ([\d.]+)/),
      QEMU: version('qemu-system-x86_64', ['--version'], /version ([\d.]+)/),
      'QEMU 10 (kdive qemu fetch 10)': qemuVersion(qemu10),
      drgn: version('/usr/bin/python3', ['-c', 'import drgn; print(drgn.__version__)'], /([\d.]+)/),
    },
    kernel: ctx.kernelVersion,
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    runs,
  },
  items,
);
writeFileSync(out, report);
log(`wrote ${out}`);
