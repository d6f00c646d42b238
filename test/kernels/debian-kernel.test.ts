import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { bzImageVersion } from '../../src/kernels/file-kernel.js';
import { imagePackageFor, packageInfo } from '../../src/kernels/apt.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { runKdive } from '../support/cli-runner.js';

test('the Debian kernel artifacts are the current package and agree with each other', async () => {
  const k = await getDebianKernel();
  // The live apt answer names the same package version the cache holds.
  const pkg = await imagePackageFor('cloud-amd64');
  assert.equal(`linux-image-${k.version}`, pkg);
  assert.equal(k.packageVersion, (await packageInfo(pkg)).version);
  // bzImage header version string = the release; the vmlinux banner says the same release.
  assert.equal(await bzImageVersion(k.bzImage), k.version);
  const strings = execFileSync('sh', ['-c', `grep -a -o -m1 'Linux version ${k.version} [^%]*' '${k.vmlinux}' | head -c 200`], { encoding: 'utf8' });
  assert.match(strings, new RegExp(`^Linux version ${k.version.replace(/\./g, '\\.')} `));
  assert.match(execFileSync('readelf', ['-n', k.vmlinux!], { encoding: 'utf8' }), /Build ID: [0-9a-f]{40}/);
  assert.match(await readFile(k.config!, 'utf8'), /^CONFIG_DEBUG_INFO=y$/m);
  assert.match(await readFile(k.systemMap!, 'utf8'), / T do_mkdirat$/m);
});

test('a second resolve comes from the cache: no download, same files', async () => {
  const k = await getDebianKernel();
  const before = (await stat(k.vmlinux!)).mtimeMs;
  const r = await runKdive(['kernel', 'fetch', '--json', 'debian:cloud-amd64']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /using cached/);
  assert.doesNotMatch(r.stderr, /downloading/);
  assert.equal(JSON.parse(r.stdout).vmlinux, k.vmlinux);
  assert.equal((await stat(k.vmlinux!)).mtimeMs, before);
});

test('a path that is not a bzImage is refused in one line', async () => {
  const r = await runKdive(['run', '--kernel', '/etc/hostname', '--vmlinux', '/bin/true', '--break', 'x', '--guest', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^kdive: \/etc\/hostname: at offset 0x202: not an x86 bzImage/m);
});

test('a corrupt package fails in one line naming the file and how to retry, leaving no half-written cache entry', async () => {
  const { mkdtemp, mkdir, copyFile, truncate, readdir } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const k = await getDebianKernel();
  const pkg = `linux-image-${k.version}`;
  const image = await packageInfo(pkg);
  const dbg = await packageInfo(`${pkg}-dbg`);
  const cache = await mkdtemp(path.join(os.tmpdir(), 'kdive-cache-'));
  const debs = path.join(cache, 'debs');
  await mkdir(debs);
  const { debFileName } = await import('../../src/kernels/apt.js');
  // The image package is real; the -dbg one has the right size (so it is not downloaded again) but is zeros.
  const realDebs = path.join(path.dirname(path.dirname(path.dirname(k.vmlinux!))), 'debs');
  await copyFile(path.join(realDebs, debFileName(image)), path.join(debs, debFileName(image)));
  const bad = path.join(debs, debFileName(dbg));
  await (await import('node:fs/promises')).writeFile(bad, '');
  await truncate(bad, dbg.size);
  const r = await runKdive(['kernel', 'fetch', 'debian:cloud-amd64'], { env: { KDIVE_CACHE: cache } });
  assert.notEqual(r.code, 0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('kdive:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`unpacking ${bad.replace(/[.+]/g, '\\$&')} failed .*delete the file and retry`));
  assert.deepEqual(await readdir(path.join(cache, 'kernels')), [], 'no cache entry and no temporary folder left');
});
