import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdiveError } from '../../errors.js';
import { silentProgress, type ProgressReporter } from '../../progress/progress.js';
import { kdiveCacheDir as defaultCacheDir } from '../../cache-dir.js';
import { fetchDebianSource } from '../debian-source.js';
import { resolveKernel } from '../resolve-kernel.js';
import { ensureBuildDependencies } from './build-dependencies.js';
import { CONFIG_FRAGMENTS } from './config-fragments.js';

export interface KernelBuildOptions {
  /** A kernel source tree, or `debian:linux-source-6.1` (the source of the Debian cloud kernel). */
  source: string;
  fragment: string;
  /** Where the build goes; default: the cache, keyed by source version and final .config. */
  out?: string;
  progress?: ProgressReporter;
  cacheDir?: string;
  jobs?: number;
}

/** The build folder: `build:DIR` boots it (DIR/arch/x86/boot/bzImage, DIR/vmlinux). */
export interface KernelBuild {
  dir: string;
  cached: boolean;
  release: string;
}

/** Runs make in the source tree with O=, its output to the log; rejects naming the log and the last error line. */
function make(tree: string, out: string, args: string[], log: string, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const logStream = createWriteStream(log, { flags: 'a' });
    const child = spawn('nice', ['-n', '10', 'make', '-C', tree, `O=${out}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail: string[] = [];
    const onData = (d: Buffer) => {
      logStream.write(d);
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 200) tail = tail.slice(-100);
        onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new KdiveError(`cannot run make: ${err.message}`)));
    child.on('close', (code) => {
      logStream.end();
      if (code === 0) return resolve();
      // The compiler's (or Kconfig's) own error line, not make's `*** [...] Error 2` summary after it.
      const rev = [...tail].reverse();
      const error = rev.find((l) => /\berror\b/i.test(l) && !/^make(\[\d+\])?: /.test(l)) ?? rev.find((l) => /\*\*\*/.test(l)) ?? tail[tail.length - 1] ?? `exit code ${code}`;
      reject(new KdiveError(`kernel build failed (make ${args.join(' ')}): ${error.trim()} (full log: ${log})`));
    });
  });
}

async function sourceTree(source: string, progress: ProgressReporter, cacheDir?: string): Promise<string> {
  if (source.startsWith('debian:')) {
    if (source !== 'debian:linux-source-6.1') throw new KdiveError(`unknown source '${source}': kdive knows debian:linux-source-6.1 (the Debian cloud kernel's source)`, 2);
    const kernel = await resolveKernel('debian:cloud-amd64', { progress, cacheDir });
    return fetchDebianSource(kernel, { progress, cacheDir });
  }
  if (!existsSync(path.join(source, 'Makefile')) || !existsSync(path.join(source, 'arch/x86'))) throw new KdiveError(`${source} is not a Linux source tree (no Makefile and arch/x86)`, 2);
  return path.resolve(source);
}

/**
 * Configures (base config + fragment + olddefconfig) out of tree, then builds bzImage and vmlinux,
 * once per source version and final .config: a second call with the same inputs is instant.
 */
export async function buildKernel(opts: KernelBuildOptions): Promise<KernelBuild> {
  const progress = opts.progress ?? silentProgress;
  const fragment = CONFIG_FRAGMENTS[opts.fragment];
  if (!fragment) throw new KdiveError(`unknown --fragment '${opts.fragment}': use ${Object.keys(CONFIG_FRAGMENTS).join(', ')}`, 2);
  const tree = await sourceTree(opts.source, progress, opts.cacheDir);
  ensureBuildDependencies((l) => progress.start(l).finish());
  const buildsDir = path.join(opts.cacheDir ?? defaultCacheDir(), 'builds');
  await mkdir(buildsDir, { recursive: true });
  const work = await mkdtemp(path.join(opts.out ? path.dirname(path.resolve(opts.out)) : buildsDir, '.building-'));
  const log = path.join(work, 'build.log');
  try {
    const configure = progress.start(`configuring (${fragment.base} + ${opts.fragment})`);
    await make(tree, work, [fragment.base], log);
    const set = [...fragment.enable.flatMap((o) => ['--enable', o]), ...fragment.disable.flatMap((o) => ['--disable', o])];
    await new Promise<void>((resolve, reject) => {
      const c = spawn(path.join(tree, 'scripts/config'), ['--file', path.join(work, '.config'), ...set], { stdio: 'ignore' });
      c.on('close', (code) => (code === 0 ? resolve() : reject(new KdiveError(`scripts/config failed (exit ${code})`))));
      c.on('error', reject);
    });
    await make(tree, work, ['olddefconfig'], log);
    configure.finish();
    const config = await readFile(path.join(work, '.config'));
    const version = (await readFile(path.join(tree, 'Makefile'), 'utf8')).match(/^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)/gm)?.map((l) => l.split('= ')[1]).join('.') ?? 'unknown';
    const key = `${version}-${opts.fragment}-${createHash('sha256').update(tree).update(config).digest('hex').slice(0, 16)}`;
    const final = opts.out ? path.resolve(opts.out) : path.join(buildsDir, key);
    if (existsSync(path.join(final, 'kdive-build-complete'))) {
      return { dir: final, cached: true, release: (await readFile(path.join(final, 'include/config/kernel.release'), 'utf8')).trim() };
    }
    const jobs = opts.jobs ?? Math.max(1, os.cpus().length + 1);
    let compiled = 0;
    const task = progress.start(`building Linux ${version} (${opts.fragment}, make -j${jobs}; log ${log})`);
    try {
      await make(tree, work, [`-j${jobs}`, 'bzImage'], log, (line) => {
        if (/^\s+(CC|AS|LD|AR)\s/.test(line)) {
          compiled++;
          if (compiled % 50 === 0) task.update(compiled);
        }
      });
      task.finish();
    } catch (err) {
      task.fail();
      throw err;
    }
    await writeFile(path.join(work, 'kdive-build-complete'), `${opts.source} ${opts.fragment}\n`);
    await rm(final, { recursive: true, force: true });
    await rename(work, final);
    return { dir: final, cached: false, release: (await readFile(path.join(final, 'include/config/kernel.release'), 'utf8')).trim() };
  } catch (err) {
    // Keep the log of a failed build where the error message says it is.
    if (!(err instanceof KdiveError && err.message.includes(log))) await rm(work, { recursive: true, force: true });
    throw err;
  }
}
