import { KdiveError } from '../errors.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { runTool, type CommandRunner } from './command-runner.js';

/**
 * `Depends: linux-image-6.1.0-56-cloud-amd64` in `apt-cache depends linux-image-cloud-amd64`.
 * The ABI part (6.1.0-56, or 6.12.12+bpo for backports) holds no '-' but before its number,
 * so the generic flavour `amd64` never takes a `...-cloud-amd64` package.
 */
export function parseImageDependency(dependsOutput: string, flavour: string): string | undefined {
  const re = new RegExp(`^\\s*Depends:\\s*(linux-image-\\d+\\.\\d+[\\w.+~]*(?:-\\d+)?-${flavour.replace(/[-]/g, '\\-')})\\s*$`, 'm');
  return re.exec(dependsOutput)?.[1];
}

/** `Candidate: 6.1.192-2` in `apt-cache policy PKG`; undefined when apt knows no such package or no candidate. */
export function parseAptPolicyCandidate(policyOutput: string): string | undefined {
  const v = /^\s*Candidate:\s*(\S+)\s*$/m.exec(policyOutput)?.[1];
  return v && v !== '(none)' ? v : undefined;
}

export interface AptPackageInfo {
  name: string;
  version: string;
  /** Size of the .deb in bytes. */
  size: number;
  /** Installed-Size, in KiB: about the size of the tar stream inside the .deb. */
  installedKiB?: number;
  filename?: string;
  /** amd64, or all for a package without machine code (its file is NAME_VERSION_all.deb). */
  architecture?: string;
}

/** The first stanza of `apt-cache show --no-all-versions` (the candidate). */
export function parseAptShow(output: string): AptPackageInfo | undefined {
  const stanza = output.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.+)$`, 'm').exec(stanza)?.[1]?.trim();
  const name = field('Package');
  const version = field('Version');
  const sizeText = field('Size');
  const size = Number(sizeText);
  if (!name || !version || !sizeText || !Number.isSafeInteger(size) || size <= 0) return undefined;
  const installed = Number(field('Installed-Size'));
  return { name, version, size, installedKiB: Number.isSafeInteger(installed) && installed > 0 ? installed : undefined, filename: field('Filename'), architecture: field('Architecture') };
}

export const STALE_LISTS = "package lists are empty or stale: run 'apt-get update' (as root) and try again";

/**
 * Questions to apt-cache. When apt knows no such package (a fresh machine has empty lists),
 * root runs `apt-get update` once per client and asks again; anyone else gets told to.
 */
export class AptClient {
  private readonly run: CommandRunner;
  private readonly isRoot: boolean;
  private updated = false;

  constructor(opts: { runner?: CommandRunner; isRoot?: boolean } = {}) {
    this.run = opts.runner ?? ((cmd, args) => runTool(cmd, args));
    this.isRoot = opts.isRoot ?? process.getuid?.() === 0;
  }

  /** The versioned image package behind a flavour's metapackage, e.g. linux-image-6.1.0-56-cloud-amd64. */
  imagePackageFor(flavour: string, progress: ProgressReporter = silentProgress): Promise<string> {
    const meta = `linux-image-${flavour}`;
    return this.withUpdate(meta, progress, async () => {
      const out = await this.run('apt-cache', ['depends', meta]).catch(unknownToApt);
      return parseImageDependency(out, flavour);
    });
  }

  /** apt's record of the candidate version of a package. */
  packageInfo(name: string, progress: ProgressReporter = silentProgress): Promise<AptPackageInfo> {
    return this.withUpdate(name, progress, async () => {
      const out = await this.run('apt-cache', ['show', '--no-all-versions', name]).catch(unknownToApt);
      return parseAptShow(out);
    });
  }

  private async withUpdate<T>(name: string, progress: ProgressReporter, query: () => Promise<T | undefined>): Promise<T> {
    const first = await query();
    if (first !== undefined) return first;
    if (this.isRoot && !this.updated) {
      this.updated = true;
      const task = progress.start(`apt knows no ${name}: running apt-get update`);
      try {
        await this.run('apt-get', ['update', '-q']);
      } catch (e) {
        task.fail();
        throw new KdiveError(`no package ${name} in apt, and 'apt-get update' failed (${(e as Error).message}): check the network and apt sources, then retry`);
      }
      task.finish();
      const again = await query();
      if (again !== undefined) return again;
      throw new KdiveError(`no package ${name} in apt, even after 'apt-get update': check apt's sources (deb.debian.org bookworm and bookworm-security)`);
    }
    throw new KdiveError(`no package ${name} in apt: ${STALE_LISTS}`);
  }
}

/** The process-wide client: apt-get update runs at most once per process. */
export const systemApt = new AptClient();

export function imagePackageFor(flavour: string, apt: AptClient = systemApt): Promise<string> {
  return apt.imagePackageFor(flavour);
}

export function packageInfo(name: string, apt: AptClient = systemApt): Promise<AptPackageInfo> {
  return apt.packageInfo(name);
}

/** apt names a downloaded file NAME_VERSION_ARCH.deb, with ':' in the version written %3a. */
export function debFileName(info: AptPackageInfo, arch = 'amd64'): string {
  return `${info.name}_${info.version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/**
 * For `.catch` on an apt-cache query: a package apt does not know (yet: withUpdate then runs
 * apt-get update) is an empty answer; apt-cache missing, or any failure runTool did not describe
 * as the command's own, is reported.
 */
function unknownToApt(err: unknown): string {
  if (err instanceof KdiveError && /^'apt-cache [^']*' failed: /.test(err.message)) return '';
  throw err;
}
