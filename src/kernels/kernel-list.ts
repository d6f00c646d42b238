import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { kdiveCacheDir } from '../cache-dir.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { systemApt } from './apt.js';
import { isCompleteKernelDir, KERNEL_MANIFEST, suiteApt, type KernelPackageSource } from './debian-kernel.js';
import { DEBIAN_SUITES } from './kernel-spec.js';

export interface CachedKernel {
  package: string;
  version: string;
  /** The -dbg vmlinux is there too. */
  debug: boolean;
  dir: string;
}

export interface OfferedKernel {
  spec: string;
  package?: string;
  version?: string;
  /** Why the archive could not be asked (offline, no such flavour there). */
  problem?: string;
}

/** Kernels unpacked in the cache (`kdive kernel fetch`), with or without their debug vmlinux. */
export function cachedKernels(cacheDir = kdiveCacheDir()): CachedKernel[] {
  const root = path.join(cacheDir, 'kernels');
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  const out: CachedKernel[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    if (!isCompleteKernelDir(dir, false) && !isCompleteKernelDir(dir, true)) continue;
    let manifest: { package?: string; version?: string } = {};
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, KERNEL_MANIFEST), 'utf8')) as typeof manifest;
    } catch {
      // an entry made by hand: its folder name is PACKAGE_VERSION
    }
    const [pkg, version] = name.split('_');
    out.push({ package: manifest.package ?? pkg!, version: manifest.version ?? version ?? '?', debug: isCompleteKernelDir(dir, true), dir });
  }
  return out;
}

/** What each suite offers for the Debian flavours kdive knows: the spec to type and the package it gives. */
export async function offeredKernels(progress: ProgressReporter = silentProgress, cacheDir = kdiveCacheDir()): Promise<OfferedKernel[]> {
  const out: OfferedKernel[] = [];
  for (const suite of DEBIAN_SUITES) {
    const apt: KernelPackageSource = suite === 'bookworm' ? systemApt : suiteApt(suite, cacheDir);
    for (const flavour of ['cloud-amd64', 'amd64']) {
      const spec = `debian:${flavour}${suite === 'bookworm' ? '' : `@${suite}`}`;
      try {
        const pkg = await apt.imagePackageFor(flavour, progress);
        const info = await apt.packageInfo(pkg, progress);
        out.push({ spec, package: pkg, version: info.version });
      } catch (err) {
        out.push({ spec, problem: (err as Error).message });
      }
    }
  }
  return out;
}
