import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { kdiveCacheDir } from '../cache-dir.js';
import { KdiveError, whenMissing } from '../errors.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { parseAptShow, parseImageDependency, type AptPackageInfo } from './apt.js';
import { downloadDeb } from './apt-download.js';

const execFileAsync = promisify(execFile);

/** apt's lists are read again once they are older than this. */
const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;

export const DEBIAN_ARCHIVE = 'http://deb.debian.org/debian';

export interface PrivateAptOptions {
  /** The folder's name under `<cache>/apt/`, e.g. 'bookworm-backports'. */
  name: string;
  /** Suites of the Debian archive, e.g. ['bookworm', 'bookworm-backports']. */
  suites: readonly string[];
  /** The suite whose versions win (apt's Default-Release), e.g. 'bookworm-backports'. */
  preferred?: string;
  archive?: string;
  cacheDir?: string;
  /** Runs apt-get/apt-cache and returns { stdout, stderr }; tests inject a fake. */
  run?: AptRunner;
  now?: () => number;
}

export type AptRunner = (command: string, args: string[]) => Promise<{ stdout: string; stderr: string }>;

/**
 * apt over suites the system does not list (bookworm-backports, trixie), with its own source
 * list, package lists and cache in `<kdive cache>/apt/<name>/`. The system's /etc/apt and
 * /var/lib/apt are never written: every apt call gets `-o Dir::...` options pointing here.
 */
export class PrivateApt {
  readonly dir: string;
  private readonly run: AptRunner;
  private readonly now: () => number;
  private fresh = false;

  constructor(private readonly opts: PrivateAptOptions) {
    this.dir = path.join(opts.cacheDir ?? kdiveCacheDir(), 'apt', opts.name);
    this.run = opts.run ?? runApt;
    this.now = opts.now ?? Date.now;
  }

  get archive(): string {
    return this.opts.archive ?? DEBIAN_ARCHIVE;
  }

  /** The source list's text: one line per suite, checked with Debian's own keyring. */
  sourcesList(): string {
    return this.opts.suites.map((s) => `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${this.archive} ${s} main\n`).join('');
  }

  /** The `-o` options that make apt-get and apt-cache use this folder only. */
  aptOptions(): string[] {
    const o = (setting: string) => ['-o', setting];
    return [
      ...o(`Dir::Etc::sourcelist=${path.join(this.dir, 'sources.list')}`),
      ...o('Dir::Etc::sourceparts=/nonexistent'),
      ...o(`Dir::State::Lists=${path.join(this.dir, 'lists')}`),
      // An empty dpkg status: what the system has installed does not change the candidates.
      ...o(`Dir::State::status=${path.join(this.dir, 'status')}`),
      ...o(`Dir::Cache=${path.join(this.dir, 'cache')}`),
      ...(this.opts.preferred ? o(`APT::Default-Release=${this.opts.preferred}`) : []),
      // Lists and lock are kdive's own: no need to take the system's apt lock, nor to be root.
      ...o('Debug::NoLocking=1'),
    ];
  }

  /** Writes the source list and runs `apt-get update` when the lists are missing, stale, or for another list. */
  async ensureUpdated(progress: ProgressReporter = silentProgress): Promise<void> {
    if (this.fresh) return;
    const listFile = path.join(this.dir, 'sources.list');
    const stampFile = path.join(this.dir, 'updated');
    const wanted = this.sourcesList();
    const written = readText(listFile);
    const stamp = written === wanted ? Date.parse((readText(stampFile) ?? '').trim()) : NaN;
    const updatedAt = Number.isFinite(stamp) ? stamp : undefined;
    if (updatedAt !== undefined && this.now() - updatedAt < LISTS_MAX_AGE_MS && this.hasLists()) {
      this.fresh = true;
      return;
    }
    for (const sub of ['lists/partial', 'cache/archives/partial']) mkdirSync(path.join(this.dir, sub), { recursive: true });
    writeFileSync(listFile, wanted);
    writeFileSync(path.join(this.dir, 'status'), '');
    const task = progress.start(`reading the package lists of ${this.opts.suites.join(', ')} (${this.archive})`);
    let failure: string | undefined;
    try {
      const { stderr } = await this.run('apt-get', [...this.aptOptions(), '-q', 'update']);
      failure = fetchFailure(stderr);
    } catch (err) {
      failure = fetchFailure((err as { stderr?: string }).stderr ?? '') ?? (err as Error).message;
    }
    if (failure === undefined && this.hasLists()) {
      writeFileSync(stampFile, `${new Date(this.now()).toISOString()}\n`);
      task.finish();
      this.fresh = true;
      return;
    }
    task.fail();
    // Lists from an earlier day still name packages that can be downloaded, if the archive comes back.
    if (updatedAt !== undefined && this.hasLists()) {
      progress.note(`cannot refresh the package lists of ${this.opts.suites.join(', ')} (${failure ?? 'no lists'}); using those of ${new Date(updatedAt).toISOString().slice(0, 10)}`);
      this.fresh = true;
      return;
    }
    throw new KdiveError(`cannot reach the Debian archive ${this.archive} for ${this.opts.suites.join(', ')}: ${failure ?? 'apt-get update fetched no package list'}; check the network and try again`);
  }

  /** The versioned image package behind a flavour's metapackage in these suites (the preferred suite's). */
  async imagePackageFor(flavour: string, progress: ProgressReporter = silentProgress): Promise<string> {
    await this.ensureUpdated(progress);
    const meta = `linux-image-${flavour}`;
    const out = await this.run('apt-cache', [...this.aptOptions(), 'depends', meta]).then((r) => r.stdout, (err: { stdout?: string }) => err.stdout ?? '');
    const pkg = parseImageDependency(out, flavour);
    if (!pkg) throw new KdiveError(`no package ${meta} in ${this.opts.suites.join(', ')} (${this.archive})`);
    return pkg;
  }

  /** apt's record of the candidate of `name` in these suites. */
  async packageInfo(name: string, progress: ProgressReporter = silentProgress): Promise<AptPackageInfo> {
    return (await this.packageInfos([name], progress))[0]!;
  }

  /** The candidates of several packages, in one apt-cache call (each reads all the lists: ~1 s). */
  async packageInfos(names: readonly string[], progress: ProgressReporter = silentProgress): Promise<AptPackageInfo[]> {
    await this.ensureUpdated(progress);
    const out = await this.run('apt-cache', [...this.aptOptions(), 'show', '--no-all-versions', ...names]).then(
      (r) => r.stdout,
      // apt-cache fails when it knows none of the names: each is then reported missing below.
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    const found = out.split(/\n\s*\n/).map(parseAptShow).filter((i): i is AptPackageInfo => i !== undefined);
    return names.map((name) => {
      const info = found.find((i) => i.name === name);
      if (!info) throw new KdiveError(`no package ${name} in ${this.opts.suites.join(', ')} (${this.archive})`);
      return info;
    });
  }

  /** Downloads one package version into `debDir` (reused when already there), with progress. */
  async download(info: AptPackageInfo, debDir: string, progress: ProgressReporter): Promise<string> {
    await this.ensureUpdated(progress);
    mkdirSync(debDir, { recursive: true });
    return downloadDeb(info, debDir, progress, info.architecture ?? 'amd64', this.aptOptions());
  }

  /** A Packages file for every suite: apt-get update really read each of them. */
  private hasLists(): boolean {
    const names = safeReaddir(path.join(this.dir, 'lists'));
    return this.opts.suites.every((s) => names.some((n) => n.includes(`_dists_${s}_`) && /_Packages(\.\w+)?$/.test(n)));
  }
}

/** apt-get update exits 0 when an archive cannot be reached: the first "Failed to fetch" line says why. */
export function fetchFailure(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => /^[WE]: Failed to fetch /.test(l));
  return line?.replace(/^[WE]: Failed to fetch /, '').replace(/\s+/g, ' ').trim();
}

async function runApt(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KdiveError(`${command} not found: kdive needs a Debian system with apt`);
    throw err;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return whenMissing(undefined)(err);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    return whenMissing([])(err);
  }
}
