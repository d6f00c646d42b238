import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { kdiveCacheDir } from '../cache-dir.js';
import { KdiveError } from '../errors.js';
import { extractMembers } from '../kernels/debian-kernel.js';
import { PrivateApt } from '../kernels/private-apt.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { qemuEnvironment, type QemuBinary } from './qemu-binary.js';

const execFileAsync = promisify(execFile);

/** The QEMU releases `kdive qemu fetch` knows, and where Debian has them. */
export const QEMU_RELEASES = {
  '10': {
    // bookworm for ipxe-qemu (backports has none); backports wins for the rest.
    apt: { name: 'bookworm-backports', suites: ['bookworm', 'bookworm-backports'], preferred: 'bookworm-backports' },
    /**
     * qemu-system-x86's own Depends minus the shared libraries, which bookworm has (ldd checks it
     * after unpacking): the binary and its modules, its firmware and data (QEMU 10 wants a SeaBIOS
     * newer than bookworm's 1.16.2), and the iPXE option ROMs of its network cards.
     */
    packages: ['qemu-system-x86', 'qemu-system-common', 'qemu-system-data', 'seabios', 'ipxe-qemu'],
  },
} as const;

export type QemuRelease = keyof typeof QEMU_RELEASES;

export function isQemuRelease(name: string): name is QemuRelease {
  return Object.hasOwn(QEMU_RELEASES, name);
}

/** A QEMU unpacked into `<cache>/qemu/<Debian version>/`. */
export interface CachedQemu extends QemuBinary {
  root: string;
  release: QemuRelease;
  /** QEMU's own version, as `--version` says (10.0.2). */
  version: string;
  packages: { name: string; version: string }[];
}

const MANIFEST = 'complete.json';

export interface QemuFetchOptions {
  cacheDir?: string;
  progress?: ProgressReporter;
  /** Where apt questions go; tests inject one. */
  apt?: PrivateApt;
}

/**
 * Downloads the packages of a QEMU release through kdive's private apt (never the system's
 * sources) and unpacks them into the cache, keyed by their versions: nothing is downloaded
 * when these versions are there already. The system's QEMU is left as it is.
 */
export async function fetchQemu(release: QemuRelease, opts: QemuFetchOptions = {}): Promise<CachedQemu> {
  const cacheDir = opts.cacheDir ?? kdiveCacheDir();
  const progress = opts.progress ?? silentProgress;
  const wanted = QEMU_RELEASES[release];
  const apt = opts.apt ?? new PrivateApt({ ...wanted.apt, cacheDir });
  const infos = await apt.packageInfos(wanted.packages, progress);
  const packages = infos.map((i) => ({ name: i.name, version: i.version }));
  const root = path.join(cacheDir, 'qemu', infos[0]!.version.replace(/^\d+:/, ''));
  const cached = readCachedQemu(root);
  if (cached && JSON.stringify(cached.packages) === JSON.stringify(packages)) {
    progress.note(`using cached QEMU ${cached.version} (${root})`);
    return cached;
  }
  const debDir = path.join(cacheDir, 'debs');
  const debs: string[] = [];
  for (const info of infos) debs.push(await apt.download(info, debDir, progress));
  await mkdir(path.dirname(root), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(root), '.unpack-'));
  try {
    for (const [i, deb] of debs.entries()) await extractMembers(deb, tmp, ['./*'], progress, (infos[i]!.installedKiB ?? 0) * 1024 || undefined);
    const entry: CachedQemu = { path: path.join(tmp, 'usr/bin/qemu-system-x86_64'), root: tmp, release, version: '', packages };
    entry.version = await checkRuns(entry);
    await writeFile(path.join(tmp, MANIFEST), `${JSON.stringify({ release, version: entry.version, packages }, null, 2)}\n`);
    await rm(root, { recursive: true, force: true });
    await rename(tmp, root);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return readCachedQemu(root)!;
}

/** Every complete QEMU in the cache, newest first. */
export function cachedQemus(cacheDir = kdiveCacheDir()): CachedQemu[] {
  const dir = path.join(cacheDir, 'qemu');
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')) : [];
  return names
    .map((n) => readCachedQemu(path.join(dir, n)))
    .filter((q): q is CachedQemu => q !== undefined)
    .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
}

/** A cached QEMU of `release` when there is one (no network), else fetched now. */
export async function qemuOfRelease(release: QemuRelease, opts: QemuFetchOptions = {}): Promise<CachedQemu> {
  const cached = cachedQemus(opts.cacheDir).find((q) => q.release === release);
  return cached ?? fetchQemu(release, opts);
}

function readCachedQemu(root: string): CachedQemu | undefined {
  let manifest: { release?: string; version?: string; packages?: { name: string; version: string }[] };
  try {
    manifest = JSON.parse(readFileSync(path.join(root, MANIFEST), 'utf8')) as typeof manifest;
  } catch {
    // not a complete entry (being unpacked, or left half-done): ignored, and replaced by the next fetch
    return undefined;
  }
  const bin = path.join(root, 'usr/bin/qemu-system-x86_64');
  if (!manifest.release || !isQemuRelease(manifest.release) || !manifest.version || !manifest.packages || !existsSync(bin)) return undefined;
  return { path: bin, root, release: manifest.release, version: manifest.version, packages: manifest.packages };
}

/** The unpacked binary finds every library it needs on this system and answers --version. */
async function checkRuns(qemu: QemuBinary): Promise<string> {
  const { stdout: libs } = await execFileAsync('ldd', [qemu.path]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' })); // ldd exits 1 on a missing library: its list is what counts
  const missing = [...libs.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
  if (missing.length) throw new KdiveError(`the unpacked ${qemu.path} needs libraries this system lacks (${missing.join(', ')}): install them, or the system's qemu-system-x86 (scripts/setup.sh), which brings most`);
  try {
    const { stdout } = await execFileAsync(qemu.path, ['--version'], { env: qemuEnvironment(qemu) });
    const version = /version\s+(\S+)/.exec(stdout)?.[1];
    if (!version) throw new Error(`no version in '${stdout.trim().split('\n')[0]}'`);
    return version;
  } catch (err) {
    throw new KdiveError(`the unpacked ${qemu.path} does not run: ${(err as Error).message.split('\n')[0]}`);
  }
}
