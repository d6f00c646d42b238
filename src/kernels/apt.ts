import { KdiveError } from '../errors.js';
import { runTool } from './command-runner.js';

/** `Depends: linux-image-6.1.0-56-cloud-amd64` in `apt-cache depends linux-image-cloud-amd64`. */
export function parseImageDependency(dependsOutput: string, flavour: string): string | undefined {
  const re = new RegExp(`^\\s*Depends:\\s*(linux-image-[0-9][\\w.+-]*-${flavour.replace(/[-]/g, '\\-')})\\s*$`, 'm');
  return re.exec(dependsOutput)?.[1];
}

export interface AptPackageInfo {
  name: string;
  version: string;
  size: number;
  filename?: string;
}

/** The first stanza of `apt-cache show --no-all-versions` (the candidate). */
export function parseAptShow(output: string): AptPackageInfo | undefined {
  const stanza = output.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(stanza)?.[1]?.trim();
  const name = field('Package');
  const version = field('Version');
  const size = Number(field('Size'));
  if (!name || !version || !Number.isFinite(size)) return undefined;
  return { name, version, size, filename: field('Filename') };
}

export const STALE_LISTS = "apt's package lists are empty or stale: run 'apt-get update' (as root) and try again";

export async function imagePackageFor(flavour: string): Promise<string> {
  let out: string;
  try {
    out = await runTool('apt-cache', ['depends', `linux-image-${flavour}`]);
  } catch {
    throw new KdiveError(`no package linux-image-${flavour} in apt: ${STALE_LISTS}`);
  }
  const pkg = parseImageDependency(out, flavour);
  if (!pkg) throw new KdiveError(`linux-image-${flavour} depends on no versioned kernel package: ${STALE_LISTS}`);
  return pkg;
}

export async function packageInfo(name: string): Promise<AptPackageInfo> {
  let out: string;
  try {
    out = await runTool('apt-cache', ['show', '--no-all-versions', name]);
  } catch {
    throw new KdiveError(`no package ${name} in apt: ${STALE_LISTS}`);
  }
  const info = parseAptShow(out);
  if (!info) throw new KdiveError(`cannot read apt's record of ${name}: ${STALE_LISTS}`);
  return info;
}

/** apt names a downloaded file NAME_VERSION_ARCH.deb, with ':' in the version written %3a. */
export function debFileName(info: AptPackageInfo, arch = 'amd64'): string {
  return `${info.name}_${info.version.replace(/:/g, '%3a')}_${arch}.deb`;
}
