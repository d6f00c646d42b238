import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { imagePackageFor, packageInfo, type AptPackageInfo } from './apt.js';
import { downloadDeb } from './apt-download.js';
import type { KernelArtifacts } from './kernel-artifacts.js';

export interface DebianKernelOptions {
  cacheDir?: string;
  progress: ProgressReporter;
}

export function kdiveCacheDir(): string {
  return process.env.KDIVE_CACHE ?? path.join(os.homedir(), '.cache', 'kdive');
}

const FILES = ['vmlinuz', 'vmlinux', 'System.map', 'config'] as const;

/**
 * The current Debian kernel of a flavour with its -dbg symbols, from the cache when this
 * package version is there, else fetched with `apt-get download` and unpacked.
 */
export async function resolveDebianKernel(flavour: 'cloud-amd64' | 'amd64', opts: DebianKernelOptions): Promise<KernelArtifacts> {
  const cacheDir = opts.cacheDir ?? kdiveCacheDir();
  const { pkgName, image } = await resolvePackage(flavour, cacheDir);
  const release = pkgName.replace(/^linux-image-/, '');
  const dir = path.join(cacheDir, 'kernels', `${pkgName}_${image.version}`);
  const artifacts: KernelArtifacts = {
    spec: `debian:${flavour}`,
    version: release,
    packageVersion: image.version,
    bzImage: path.join(dir, 'vmlinuz'),
    vmlinux: path.join(dir, 'vmlinux'),
    systemMap: path.join(dir, 'System.map'),
    config: path.join(dir, 'config'),
  };
  if (isComplete(dir)) {
    opts.progress.note(`using cached ${pkgName} ${image.version}`);
    return artifacts;
  }
  const dbg = await packageInfo(`${pkgName}-dbg`);
  const debDir = path.join(cacheDir, 'debs');
  await mkdir(debDir, { recursive: true });
  const imageDeb = await downloadDeb(image, debDir, opts.progress);
  const dbgDeb = await downloadDeb(dbg, debDir, opts.progress);

  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(dir), '.unpack-'));
  try {
    await extract(imageDeb, tmp, ['./boot/'], opts.progress);
    await extract(dbgDeb, tmp, ['./usr/lib/debug/boot/'], opts.progress);
    const out = path.join(tmp, 'out');
    await mkdir(out);
    await rename(await only(path.join(tmp, 'boot'), /^vmlinuz-/), path.join(out, 'vmlinuz'));
    await rename(await only(path.join(tmp, 'boot'), /^config-/), path.join(out, 'config'));
    await rename(await only(path.join(tmp, 'usr/lib/debug/boot'), /^vmlinux-/), path.join(out, 'vmlinux'));
    await rename(await only(path.join(tmp, 'usr/lib/debug/boot'), /^System\.map-/), path.join(out, 'System.map'));
    await writeFile(path.join(out, 'manifest.json'), JSON.stringify({ package: pkgName, version: image.version, release }, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (!isComplete(dir)) throw new KdiveError(`unpacking ${pkgName} into ${dir} left it incomplete; delete that folder and retry`);
  return artifacts;
}

/**
 * The package behind a flavour and its candidate version. Asking apt-cache costs ~1.4 s, so the
 * answer is kept and reused until apt's package lists change (their names and mtimes are the key).
 */
async function resolvePackage(flavour: string, cacheDir: string): Promise<{ pkgName: string; image: AptPackageInfo }> {
  const stamp = aptListsStamp();
  const memo = path.join(cacheDir, 'resolved', `debian-${flavour}.json`);
  if (stamp) {
    try {
      const saved = JSON.parse(readFileSync(memo, 'utf8')) as { stamp: string; pkgName: string; image: AptPackageInfo };
      if (saved.stamp === stamp) return saved;
    } catch {
      // not resolved yet with these lists
    }
  }
  const pkgName = await imagePackageFor(flavour);
  const image = await packageInfo(pkgName);
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

/** All four files there, and the vmlinux at least starts like an ELF (a crash mid-copy leaves less). */
function isComplete(dir: string): boolean {
  if (!FILES.every((f) => existsSync(path.join(dir, f)))) return false;
  try {
    const head = readFileSync(path.join(dir, 'vmlinux'), { flag: 'r' }).subarray(0, 4);
    return head.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  }
}

/** `dpkg-deb --fsys-tarfile DEB | tar -x` of some members, counting the bytes that flow. */
async function extract(deb: string, into: string, members: string[], progress: ProgressReporter): Promise<void> {
  const size = (await stat(deb)).size;
  const task = progress.start(`unpacking ${path.basename(deb)}`, size, 'bytes');
  try {
    await new Promise<void>((resolve, reject) => {
      const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-C', into, '--wildcards', ...members.map((m) => `${m}*`)], { stdio: ['pipe', 'ignore', 'pipe'] });
      let errors = '';
      let flowed = 0;
      dpkg.stdout.on('data', (d: Buffer) => {
        flowed += d.length;
        // The tar stream is the unpacked size, larger than the .deb: show it against the .deb's size, capped.
        task.update(Math.min(flowed / 4, size));
      });
      dpkg.stdout.pipe(tar.stdin);
      dpkg.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      tar.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      tar.stdin.on('error', () => undefined);
      let pending = 2;
      let failed = false;
      const done = (who: string) => (code: number | null) => {
        if (code !== 0 && !failed) {
          failed = true;
          const last = errors.trim().split('\n').filter(Boolean).pop() ?? `${who} exit code ${code}`;
          reject(new KdiveError(`unpacking ${deb} failed (${who}): ${last}; delete the file and retry to download it again`));
        }
        if (--pending === 0 && !failed) resolve();
      };
      dpkg.on('exit', done('dpkg-deb'));
      tar.on('exit', done('tar'));
      dpkg.on('error', (e) => reject(new KdiveError(`dpkg-deb not found: ${e.message}`)));
    });
    task.finish();
  } catch (e) {
    task.fail();
    throw e;
  }
}

async function only(dir: string, pattern: RegExp): Promise<string> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => pattern.test(n));
  if (names.length !== 1) throw new KdiveError(`expected one file matching ${pattern} in ${dir}, found ${names.length}`);
  return path.join(dir, names[0]!);
}
