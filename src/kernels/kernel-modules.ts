import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KdiveError, whenMissing } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { debFileName, systemApt, type AptClient } from './apt.js';
import { downloadDeb } from './apt-download.js';
import { extractMembers, KERNEL_MANIFEST } from './debian-kernel.js';
import type { KernelArtifacts } from './kernel-artifacts.js';
import { moduleNameOf, readModuleInfo } from './module-info.js';
import { isModuleFile, plainModule } from './compressed-module.js';

/**
 * The .ko files of one kernel, by module name. A Debian kernel's come from its linux-image
 * package, unpacked into the cache entry the first time a module is needed; a build folder's
 * are the .ko files make left in it.
 */
export class KernelModuleTree {
  private constructor(readonly dir: string, private readonly files: ReadonlyMap<string, string>) {}

  static async open(dir: string): Promise<KernelModuleTree> {
    const files = new Map<string, string>();
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        // A plain .ko wins over a compressed one of the same module (plainModule() leaves both).
        else if (e.isFile() && isModuleFile(e.name) && (e.name.endsWith('.ko') || !files.get(moduleNameOf(p))?.endsWith('.ko'))) files.set(moduleNameOf(p), p);
      }
    };
    await walk(dir);
    return new KernelModuleTree(dir, files);
  }

  file(name: string): string | undefined {
    return this.files.get(name);
  }

  /** The .ko files to insmod, in an order that loads each module's `depends=` before it. */
  async loadOrder(names: readonly string[]): Promise<string[]> {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = async (name: string, neededBy?: string): Promise<void> => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new KdiveError(`modules in ${this.dir} depend on each other in a circle at ${name}`);
      const found = this.files.get(name);
      if (!found) throw new KdiveError(`module ${name}${neededBy ? ` (needed by ${neededBy})` : ''} is not in ${this.dir}`);
      const file = await plainModule(found);
      state.set(name, 'visiting');
      for (const dep of (await readModuleInfo(file)).depends) await visit(dep, name);
      state.set(name, 'done');
      order.push(file);
    };
    for (const n of names) await visit(n);
    return order;
  }
}

/** Where a kernel's modules are, unpacking a Debian kernel's on first use; undefined when it has none kdive can find. */
export async function kernelModuleTree(kernel: KernelArtifacts, progress: ProgressReporter, apt: AptClient = systemApt): Promise<KernelModuleTree | undefined> {
  if (kernel.spec.startsWith('build:')) return KernelModuleTree.open(kernel.spec.slice('build:'.length));
  if (!kernel.spec.startsWith('debian:')) return undefined;
  const entry = path.dirname(kernel.bzImage);
  const dir = path.join(entry, 'modules');
  if (!existsSync(dir)) await unpackDebianModules(kernel, entry, dir, progress, apt);
  return KernelModuleTree.open(dir);
}

/** lib/modules/RELEASE of the entry's linux-image package into `dir`, through a temporary folder. */
async function unpackDebianModules(kernel: KernelArtifacts, entry: string, dir: string, progress: ProgressReporter, apt: AptClient): Promise<void> {
  // complete.json names the package; an entry made by hand has only its folder name, PACKAGE_VERSION.
  const manifest = JSON.parse(await readFile(path.join(entry, KERNEL_MANIFEST), 'utf8').catch(whenMissing('{}'))) as { package?: string; version?: string; release?: string };
  manifest.release ??= kernel.version;
  manifest.package ??= `linux-image-${kernel.version}`;
  manifest.version ??= kernel.packageVersion;
  if (!manifest.version) throw new KdiveError(`${entry}: cannot tell which package version its modules are in (no ${KERNEL_MANIFEST}); remove the folder and fetch the kernel again`);
  const debDir = path.join(path.dirname(path.dirname(entry)), 'debs');
  let deb = path.join(debDir, debFileName({ name: manifest.package, version: manifest.version, size: 0 }));
  if (!existsSync(deb)) {
    const info = await apt.packageInfo(manifest.package, progress);
    if (info.version !== manifest.version) {
      throw new KdiveError(`the cached kernel ${manifest.package} ${manifest.version} has no package left to take its modules from (apt offers ${info.version}); remove ${entry} and run again`);
    }
    deb = await downloadDeb(info, debDir, progress);
  }
  const tmp = await mkdtemp(path.join(entry, '.modules-'));
  try {
    await extractMembers(deb, tmp, [`./lib/modules/${manifest.release}/*`], progress);
    await rename(path.join(tmp, 'lib/modules', manifest.release), dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
