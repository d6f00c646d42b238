import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { packageInfo } from './apt.js';
import { downloadDeb } from './apt-download.js';
import { kdiveCacheDir } from './debian-kernel.js';
import type { KernelArtifacts } from './kernel-artifacts.js';

/**
 * The source tree of a Debian kernel: `linux-source-X.Y` (a .tar.xz inside a .deb), fetched with
 * apt and unpacked once into the cache. Its version must be the kernel package's, or the lines
 * shown would not be the lines that were compiled.
 */
export async function fetchDebianSource(kernel: KernelArtifacts, opts: { cacheDir?: string; progress: ProgressReporter }): Promise<string> {
  const series = /^(\d+\.\d+)/.exec(kernel.version)?.[1];
  if (!series || !kernel.packageVersion) throw new KdiveError(`--source: ${kernel.spec} is not a Debian kernel package; pass --source DIR with its source tree`, 2);
  const pkg = await packageInfo(`linux-source-${series}`);
  if (pkg.version !== kernel.packageVersion) {
    throw new KdiveError(`--source: apt offers linux-source-${series} ${pkg.version}, but the kernel is ${kernel.packageVersion}; pass --source DIR with the matching tree`);
  }
  const cacheDir = opts.cacheDir ?? kdiveCacheDir();
  const root = path.join(cacheDir, 'source', `${pkg.name}_${pkg.version}`);
  const tree = path.join(root, `linux-source-${series}`);
  if (existsSync(path.join(root, 'complete'))) return tree;

  const debs = path.join(cacheDir, 'debs');
  await mkdir(debs, { recursive: true });
  const deb = await downloadDeb(pkg, debs, opts.progress, 'all');
  await mkdir(path.dirname(root), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(root), '.unpack-'));
  try {
    await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './usr/src/linux-source-*.tar.xz'`, 'sh', deb, tmp], `unpacking ${deb}`);
    const tarballDir = path.join(tmp, 'usr/src');
    const tarball = (await readdir(tarballDir)).find((n) => n.endsWith('.tar.xz'));
    if (!tarball) throw new KdiveError(`${deb} holds no linux-source tarball`);
    const task = opts.progress.start(`unpacking ${tarball} (about 1.3 GB)`);
    const out = path.join(tmp, 'tree');
    await mkdir(out);
    try {
      await run('tar', ['-xJf', path.join(tarballDir, tarball), '-C', out], `unpacking ${tarball}`);
    } catch (e) {
      task.fail();
      throw e;
    }
    task.finish();
    await rm(path.join(tmp, 'usr'), { recursive: true, force: true });
    await writeFile(path.join(out, 'complete'), `${pkg.name} ${pkg.version}\n`);
    await rm(root, { recursive: true, force: true });
    await rename(out, root);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (!existsSync(tree)) throw new KdiveError(`unpacked ${pkg.name} but found no ${tree}`);
  return tree;
}

function run(cmd: string, args: string[], what: string, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new KdiveError(`${what}: ${e.message}`)));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new KdiveError(`${what} failed: ${err.trim().split('\n').filter((l) => !l.startsWith('W:')).pop() ?? `exit code ${code}`}`));
    });
  });
}
