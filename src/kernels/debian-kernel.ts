import { kdiveCacheDir } from '../cache-dir.js';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdiveError, whenMissing } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { systemApt, type AptPackageInfo } from './apt.js';
import { PrivateApt } from './private-apt.js';
import type { DebianSuite } from './kernel-spec.js';
import { downloadDeb } from './apt-download.js';
import { elfHeaderProblem } from './elf-header-check.js';
import type { KernelArtifacts } from './kernel-artifacts.js';

export type DebianFlavour = 'cloud-amd64' | 'amd64';

export interface DebianKernelOptions {
  /** Default: $KDIVE_CACHE, else ~/.cache/kdive. */
  cacheDir?: string;
  progress: ProgressReporter;
  /** Also fetch the -dbg package (vmlinux with DWARF, the real System.map). Default true. */
  withDebug?: boolean;
  /** Where apt questions go; tests inject one. Default: the system's apt for bookworm, kdive's own for another suite. */
  apt?: KernelPackageSource;
  /** A suite beyond bookworm (bookworm-backports, trixie: 6.12), read through kdive's private apt. */
  suite?: Exclude<DebianSuite, 'bookworm'>;
}

/** What resolving a Debian kernel asks of apt: the system's (AptClient) or kdive's private one (PrivateApt). */
export interface KernelPackageSource {
  imagePackageFor(flavour: string, progress?: ProgressReporter): Promise<string>;
  packageInfo(name: string, progress?: ProgressReporter): Promise<AptPackageInfo>;
  /** Downloads through this source's apt; without it, the system's `apt-get download`. */
  download?(info: AptPackageInfo, debDir: string, progress: ProgressReporter): Promise<string>;
}

/** kdive's own apt for a suite the system does not list (never the system's /etc/apt). */
export function suiteApt(suite: Exclude<DebianSuite, 'bookworm'>, cacheDir: string): PrivateApt {
  return suite === 'trixie'
    ? new PrivateApt({ name: 'trixie', suites: ['trixie'], cacheDir })
    : new PrivateApt({ name: 'bookworm-backports', suites: ['bookworm', 'bookworm-backports'], preferred: 'bookworm-backports', cacheDir });
}

export { kdiveCacheDir };

/** The files of a cache entry `<cacheDir>/kernels/<pkg>_<version>/`. */
export const KERNEL_FILES = ['vmlinuz', 'vmlinux', 'System.map', 'config'] as const;
/** Without the -dbg package: the image's own /boot/System.map is a stub, so it is not kept. */
const IMAGE_ONLY_FILES = ['vmlinuz', 'config'] as const;
/** Written last into an entry kdive made itself (entries made by hand are accepted on their files). */
export const KERNEL_MANIFEST = 'complete.json';

/**
 * The current Debian kernel of a flavour with its -dbg symbols, from the cache when this
 * package version is there, else fetched with `apt-get download` and unpacked.
 */
export async function resolveDebianKernel(flavour: DebianFlavour, opts: DebianKernelOptions): Promise<KernelArtifacts> {
  const cacheDir = opts.cacheDir ?? kdiveCacheDir();
  const withDebug = opts.withDebug ?? true;
  const apt: KernelPackageSource = opts.apt ?? (opts.suite ? suiteApt(opts.suite, cacheDir) : systemApt);
  const { pkgName, image } = await resolvePackage(flavour, cacheDir, apt, opts.progress, opts.suite);
  const release = pkgName.replace(/^linux-image-/, '');
  const dir = path.join(cacheDir, 'kernels', `${pkgName}_${image.version}`);
  const artifacts = (debug: boolean): KernelArtifacts => ({
    spec: `debian:${flavour}${opts.suite ? `@${opts.suite}` : ''}`,
    version: release,
    packageVersion: image.version,
    bzImage: path.join(dir, 'vmlinuz'),
    ...(debug ? { vmlinux: path.join(dir, 'vmlinux'), systemMap: path.join(dir, 'System.map') } : {}),
    config: path.join(dir, 'config'),
  });
  if (isCompleteKernelDir(dir, true)) {
    opts.progress.note(`using cached ${pkgName} ${image.version}`);
    // Without debug info asked for, the cached -dbg files are left out, as if never fetched.
    return artifacts(withDebug);
  }
  if (!withDebug && isCompleteKernelDir(dir, false)) {
    opts.progress.note(`using cached ${pkgName} ${image.version} (no debug symbols)`);
    return artifacts(false);
  }
  const dbg = withDebug ? await apt.packageInfo(`${pkgName}-dbg`, opts.progress) : undefined;
  if (dbg && dbg.version !== image.version) {
    throw new KdiveError(`apt offers ${pkgName} ${image.version} but ${dbg.name} ${dbg.version}: the symbols would not match; run 'apt-get update' (as root) and try again`);
  }
  const debDir = path.join(cacheDir, 'debs');
  await mkdir(debDir, { recursive: true });
  const download = (info: AptPackageInfo) => (apt.download ? apt.download(info, debDir, opts.progress) : downloadDeb(info, debDir, opts.progress));
  const imageDeb = await download(image);
  const dbgDeb = dbg ? await download(dbg) : undefined;
  await unpackDebianKernel({ image: imageDeb, dbg: dbgDeb }, dir, {
    progress: opts.progress,
    streamBytes: { image: kib(image.installedKiB), dbg: kib(dbg?.installedKiB) },
    manifest: { package: pkgName, version: image.version, release, debug: Boolean(dbgDeb) },
  });
  return artifacts(Boolean(dbgDeb));
}

const kib = (n: number | undefined) => (n === undefined ? undefined : n * 1024);

export interface UnpackOptions {
  progress: ProgressReporter;
  /** Expected size of each package's tar stream (apt's Installed-Size), for the progress total. */
  streamBytes?: { image?: number; dbg?: number };
  /** Recorded in the entry's complete.json. */
  manifest?: Record<string, unknown>;
}

/**
 * Unpacks the image package (vmlinuz, config) and, when given, its -dbg package (vmlinux,
 * System.map) into the cache entry `dir`. Everything goes to a temporary folder beside it
 * first and is renamed into place at the end, so a failure leaves no entry at all.
 */
export async function unpackDebianKernel(debs: { image: string; dbg?: string }, dir: string, opts: UnpackOptions): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(dir), '.unpack-'));
  try {
    await extractMembers(debs.image, tmp, ['./boot/vmlinuz-*', './boot/config-*'], opts.progress, opts.streamBytes?.image);
    if (debs.dbg) await extractMembers(debs.dbg, tmp, ['./usr/lib/debug/boot/*'], opts.progress, opts.streamBytes?.dbg);
    const out = path.join(tmp, 'entry');
    await mkdir(out);
    await rename(await only(debs.image, path.join(tmp, 'boot'), /^vmlinuz-/), path.join(out, 'vmlinuz'));
    await rename(await only(debs.image, path.join(tmp, 'boot'), /^config-/), path.join(out, 'config'));
    if (debs.dbg) {
      const debugBoot = path.join(tmp, 'usr/lib/debug/boot');
      await rename(await only(debs.dbg, debugBoot, /^vmlinux-/), path.join(out, 'vmlinux'));
      await rename(await only(debs.dbg, debugBoot, /^System\.map-/), path.join(out, 'System.map'));
    }
    const debug = Boolean(debs.dbg);
    // (An image-only entry is complete once its manifest is written below: its two files were renamed above.)
    if (debug && !isCompleteKernelDir(out, true)) throw new KdiveError(`unpacking ${debs.dbg ?? debs.image} gave a vmlinux that is not a whole x86-64 ELF file; delete ${debs.dbg ?? debs.image} and run again to download it afresh`);
    await writeFile(path.join(out, KERNEL_MANIFEST), `${JSON.stringify({ ...opts.manifest, files: debug ? KERNEL_FILES : IMAGE_ONLY_FILES }, null, 2)}\n`);
    // An entry without debug files may be there from an earlier withDebug: false run; it is replaced whole.
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The package behind a flavour and its candidate version. Asking apt-cache costs ~1.4 s, so the
 * answer is kept and reused until apt's package lists change (their names and mtimes are the key).
 */
async function resolvePackage(flavour: string, cacheDir: string, apt: KernelPackageSource, progress: ProgressReporter, suite?: string): Promise<{ pkgName: string; image: AptPackageInfo }> {
  const memo = path.join(cacheDir, 'resolved', `debian-${flavour}${suite ? `@${suite}` : ''}.json`);
  const memoOk = apt === systemApt; // an injected client answers for itself, not for the system's lists
  const before = memoOk ? aptListsStamp() : undefined;
  if (before) {
    try {
      const saved = JSON.parse(readFileSync(memo, 'utf8')) as { stamp: string; pkgName: string; image: AptPackageInfo };
      if (saved.stamp === before && saved.image?.size > 0) return saved;
    } catch {
      // not resolved yet with these lists
    }
  }
  const pkgName = await apt.imagePackageFor(flavour, progress);
  const image = await apt.packageInfo(pkgName, progress);
  const stamp = memoOk ? aptListsStamp() : undefined; // after any apt-get update the questions caused
  if (stamp) {
    await mkdir(path.dirname(memo), { recursive: true });
    await writeFile(memo, JSON.stringify({ stamp, pkgName, image }));
  }
  return { pkgName, image };
}

/** Names, sizes and mtimes of apt's package lists: any `apt-get update` changes it. */
function aptListsStamp(): string | undefined {
  const dir = '/var/lib/apt/lists';
  try {
    const parts = readdirSync(dir)
      .filter((n) => n.endsWith('_Packages') || n.endsWith('_Packages.lz4') || n.endsWith('_InRelease'))
      .sort()
      .map((n) => {
        const st = statSync(path.join(dir, n));
        return `${n}:${st.size}:${st.mtimeMs}`;
      });
    return parts.length ? parts.join('|') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A usable entry: its files are all there and the vmlinux has a sound ELF header whose section
 * headers fit in the file (a copy cut short fails that). Entries made by hand without
 * complete.json are accepted on these checks alone.
 */
export function isCompleteKernelDir(dir: string, withDebug = true): boolean {
  const files = withDebug ? KERNEL_FILES : IMAGE_ONLY_FILES;
  if (!files.every((f) => existsSync(path.join(dir, f)))) return false;
  if (!withDebug) return existsSync(path.join(dir, KERNEL_MANIFEST));
  let fd: number | undefined;
  try {
    fd = openSync(path.join(dir, 'vmlinux'), 'r');
    const head = Buffer.alloc(64);
    const n = readSync(fd, head, 0, 64, 0);
    return elfHeaderProblem(head.subarray(0, n), fstatSync(fd).size) === undefined;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * `dpkg-deb --fsys-tarfile DEB | tar -x MEMBERS`, counting the bytes that flow between them.
 * Both processes are waited for before this settles, so nothing writes into `into` afterwards.
 */
export async function extractMembers(deb: string, into: string, members: string[], progress: ProgressReporter, streamBytes?: number): Promise<void> {
  const debSize = (await stat(deb)).size;
  // Without apt's Installed-Size, a tar stream is about 4x its compressed .deb: an estimate, capped.
  const total = streamBytes ?? debSize * 4;
  const task = progress.start(`unpacking ${path.basename(deb)}`, total, 'bytes');
  const command = `dpkg-deb --fsys-tarfile ${deb} | tar -x -C ${into} --wildcards ${members.join(' ')}`;
  try {
    const { dpkgCode, tarCode, dpkgErr, tarErr, spawnError } = await new Promise<{
      dpkgCode: number | null; tarCode: number | null; dpkgErr: string; tarErr: string; spawnError?: Error;
    }>((resolve) => {
      const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-C', into, '--wildcards', ...members], { stdio: ['pipe', 'ignore', 'pipe'] });
      let dpkgErr = '';
      let tarErr = '';
      let flowed = 0;
      let spawnError: Error | undefined;
      const codes: { dpkg?: number | null; tar?: number | null } = {};
      const settle = () => {
        if ('dpkg' in codes && 'tar' in codes) resolve({ dpkgCode: codes.dpkg!, tarCode: codes.tar!, dpkgErr, tarErr, spawnError });
      };
      dpkg.stdout.on('data', (d: Buffer) => {
        flowed += d.length;
        task.update(Math.min(flowed, total));
      });
      dpkg.stdout.pipe(tar.stdin);
      // tar may stop reading early (it exits on a bad stream); dpkg-deb then gets EPIPE.
      tar.stdin.on('error', () => undefined);
      dpkg.stderr.on('data', (d: Buffer) => (dpkgErr += d.toString()));
      tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
      dpkg.on('error', (e) => { spawnError ??= e; codes.dpkg = null; tar.stdin.end(); settle(); });
      tar.on('error', (e) => { spawnError ??= e; codes.tar = null; dpkg.kill(); settle(); });
      dpkg.on('close', (code) => { codes.dpkg ??= code; settle(); });
      tar.on('close', (code) => { codes.tar ??= code; settle(); });
    });
    if (spawnError) throw new KdiveError(`unpacking ${deb} failed: ${spawnError.message} (dpkg-deb and tar are needed: apt-get install dpkg tar)`);
    if (dpkgCode !== 0 || tarCode !== 0) {
      // dpkg-deb's complaint names the real cause (a corrupt archive); tar's "unexpected EOF" follows from it.
      const why = lastLine(dpkgCode !== 0 ? dpkgErr : tarErr) ?? `${dpkgCode !== 0 ? 'dpkg-deb' : 'tar'} exit code ${dpkgCode !== 0 ? dpkgCode : tarCode}`;
      throw new KdiveError(`unpacking ${deb} failed (${why}) in '${command}'; delete the file and retry to download it again`);
    }
    task.finish();
  } catch (e) {
    task.fail();
    throw e;
  }
}

function lastLine(text: string): string | undefined {
  return text.trim().split('\n').map((l) => l.trim()).filter(Boolean).pop();
}

async function only(deb: string, dir: string, pattern: RegExp): Promise<string> {
  const names = (await readdir(dir).catch(whenMissing([] as string[]))).filter((n) => pattern.test(n));
  if (names.length !== 1) throw new KdiveError(`${deb} should hold one file matching ${pattern} under ${dir.replace(/^.*\.unpack-[^/]*/, '.')}, found ${names.length}; is it a Debian kernel package?`);
  return path.join(dir, names[0]!);
}
