import { spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KdiveError, whenMissing } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { debFileName, type AptPackageInfo } from './apt.js';

/**
 * `apt-get download` of one package version into a folder, with progress from the growing file;
 * a .deb already there with apt's size is reused. A failure leaves no partial file.
 * `aptOptions` (`-o` settings) point apt at a private source list (private-apt.ts).
 */
export async function downloadDeb(info: AptPackageInfo, debDir: string, progress: ProgressReporter, arch = 'amd64', aptOptions: string[] = []): Promise<string> {
  const file = path.join(debDir, debFileName(info, arch));
  const have = await stat(file).catch(whenMissing(undefined)); // not downloaded yet
  if (have?.size === info.size) return file;
  await rm(file, { force: true });
  const task = progress.start(`downloading ${info.name} ${info.version}`, info.size, 'bytes');
  const poll = setInterval(() => {
    stat(file).then((s) => task.update(s.size), () => undefined);
  }, 500);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('apt-get', [...aptOptions, 'download', `${info.name}=${info.version}`], { cwd: debDir, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => reject(new KdiveError(`apt-get not found (${e.message}): kdive fetches Debian kernels with apt`)));
      child.on('exit', (code) => {
        if (code === 0) resolve();
        else {
          const last = err.trim().split('\n').filter((l) => !l.startsWith('W:')).pop() ?? `exit code ${code}`;
          reject(new KdiveError(`downloading ${info.name} ${info.version} failed ('apt-get download ${info.name}=${info.version}' in ${debDir}): ${last}; check the network and apt sources, then run again`));
        }
      });
    });
  } catch (e) {
    task.fail();
    await rm(file, { force: true });
    throw e;
  } finally {
    clearInterval(poll);
  }
  const got = await stat(file).catch(whenMissing(undefined)); // apt-get wrote nothing
  if (got?.size !== info.size) {
    task.fail();
    await rm(file, { force: true });
    throw new KdiveError(`downloaded ${file} has ${got?.size ?? 0} bytes, apt expected ${info.size} ('apt-get download ${info.name}=${info.version}'); removed it: run again to download it afresh`);
  }
  task.finish();
  return file;
}
