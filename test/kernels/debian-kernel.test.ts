import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdiveError } from '../../src/errors.js';
import { silentProgress, type ProgressReporter } from '../../src/progress/progress.js';
import { resolveDebianKernel, unpackDebianKernel } from '../../src/kernels/debian-kernel.js';
import { bzImageVersion, bzImageVersionText } from '../../src/kernels/file-kernel.js';
import { AptClient, debFileName, imagePackageFor, packageInfo, parseAptPolicyCandidate } from '../../src/kernels/apt.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

test('the Debian kernel artifacts are the current package and agree with each other', async () => {
  const k = await getDebianKernel();
  // The live apt answer names the same package version the cache holds.
  const pkg = await imagePackageFor('cloud-amd64');
  assert.equal(`linux-image-${k.version}`, pkg);
  assert.equal(k.packageVersion, (await packageInfo(pkg)).version);
  // bzImage header version string = the release; the vmlinux banner says the same release.
  assert.equal(await bzImageVersion(k.bzImage), k.version);
  // bzImage: "6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)";
  // linux_banner: "Linux version 6.1.0-56-cloud-amd64 (debian-kernel@...) (gcc-12 ...) #1 SMP ... (2026-11-16)\n".
  const bzText = (await bzImageVersionText(k.bzImage))!;
  assert.ok(bzText.startsWith(`${k.version} `), bzText);
  const banner = await linuxBanner(k.vmlinux!, k.systemMap!);
  assert.ok(banner.startsWith(`Linux version ${k.version} (`), banner);
  assert.ok(banner.trimEnd().endsWith(bzText.slice(bzText.indexOf('#'))), `${banner} vs ${bzText}`);
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
  const { mkdir, copyFile, truncate, readdir } = await import('node:fs/promises');
  const path = await import('node:path');
  const k = await getDebianKernel();
  const pkg = `linux-image-${k.version}`;
  const image = await packageInfo(pkg);
  const dbg = await packageInfo(`${pkg}-dbg`);
  const cache = scratchDir('kdive-cache-');
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

/** The `linux_banner` string out of the vmlinux: its address from System.map, its file offset from readelf -S. */
async function linuxBanner(vmlinux: string, systemMap: string): Promise<string> {
  const { open } = await import('node:fs/promises');
  const m = /^([0-9a-f]{16}) [DdRr] linux_banner$/m.exec(await readFile(systemMap, 'utf8'));
  assert.ok(m, 'linux_banner in System.map');
  const addr = BigInt(`0x${m[1]}`);
  const sections = execFileSync('readelf', ['-S', '-W', vmlinux], { encoding: 'utf8' });
  for (const line of sections.split('\n')) {
    const f = /\]\s+(\S+)\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (!f) continue;
    const [start, off, size] = [BigInt(`0x${f[2]}`), BigInt(`0x${f[3]}`), BigInt(`0x${f[4]}`)];
    if (start === 0n || addr < start || addr >= start + size) continue;
    const fh = await open(vmlinux, 'r');
    try {
      const b = Buffer.alloc(512);
      await fh.read(b, 0, b.length, Number(off + addr - start));
      return b.toString('latin1', 0, b.indexOf(0));
    } finally {
      await fh.close();
    }
  }
  assert.fail(`no section holds linux_banner at 0x${addr.toString(16)}`);
}

/** A ProgressReporter that remembers what was started and noted. */
function recordingProgress(): ProgressReporter & { started: string[]; notes: string[] } {
  const started: string[] = [];
  const notes: string[] = [];
  return {
    started,
    notes,
    start: (label) => {
      started.push(label);
      return { update() {}, finish() {}, fail() {} };
    },
    note: (message) => notes.push(message),
  };
}

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

test('live apt-cache agrees with the parsers: depends for both flavours, policy and show on the candidate', async () => {
  const k = await getDebianKernel();
  const abi = k.version.replace(/-cloud-amd64$/, '');
  assert.equal(await imagePackageFor('amd64'), `linux-image-${abi}-amd64`);
  const policy = execFileSync('apt-cache', ['policy', `linux-image-${k.version}`], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  assert.equal(parseAptPolicyCandidate(policy), k.packageVersion);
  const dbg = await packageInfo(`linux-image-${k.version}-dbg`);
  assert.equal(dbg.version, k.packageVersion);
  assert.ok(dbg.size > 100 << 20 && dbg.installedKiB! * 1024 > dbg.size, JSON.stringify(dbg));
});

test('getDebianKernel twice and a fresh resolve: same answer, no download, the .debs untouched', async () => {
  const [a, b] = [await getDebianKernel(), await getDebianKernel()];
  assert.equal(a, b, 'memoized per process');
  const cacheDir = path.dirname(path.dirname(path.dirname(a.vmlinux!)));
  const debs = await readdir(path.join(cacheDir, 'debs'));
  const mtimes = await Promise.all(debs.map(async (d) => (await stat(path.join(cacheDir, 'debs', d))).mtimeMs));
  const progress = recordingProgress();
  const again = await resolveDebianKernel('cloud-amd64', { cacheDir, progress });
  assert.deepEqual(again, a);
  assert.deepEqual(progress.started, [], 'nothing downloaded or unpacked');
  assert.match(progress.notes.join('\n'), /using cached linux-image-/);
  assert.deepEqual(await Promise.all(debs.map(async (d) => (await stat(path.join(cacheDir, 'debs', d))).mtimeMs)), mtimes);
});

test('unpacking the cached .debs into an empty cache gives the same four files, with no download', async () => {
  const k = await getDebianKernel();
  const realDebs = path.join(path.dirname(path.dirname(path.dirname(k.vmlinux!))), 'debs');
  const cache = scratchDir('kdive-cache-');
  try {
    await mkdir(path.join(cache, 'debs'));
    for (const name of [`linux-image-${k.version}`, `linux-image-${k.version}-dbg`]) {
      const deb = debFileName(await packageInfo(name));
      await symlink(path.join(realDebs, deb), path.join(cache, 'debs', deb));
    }
    const progress = recordingProgress();
    const fresh = await resolveDebianKernel('cloud-amd64', { cacheDir: cache, progress });
    assert.ok(progress.started.every((l) => l.startsWith('unpacking ')) && progress.started.length === 2, progress.started.join('\n'));
    assert.equal(fresh.version, k.version);
    assert.equal(fresh.packageVersion, k.packageVersion);
    for (const f of ['bzImage', 'vmlinux', 'systemMap', 'config'] as const) {
      assert.ok(fresh[f]!.startsWith(cache), f);
      assert.equal((await stat(fresh[f]!)).size, (await stat(k[f]!)).size, f);
    }
    for (const f of ['bzImage', 'systemMap', 'config'] as const) assert.equal(await sha256(fresh[f]!), await sha256(k[f]!), f);
    const manifest = JSON.parse(await readFile(path.join(path.dirname(fresh.vmlinux!), 'complete.json'), 'utf8'));
    assert.equal(manifest.version, k.packageVersion);
    assert.deepEqual(await readdir(path.join(cache, 'kernels')), [path.basename(path.dirname(fresh.vmlinux!))], 'no temporary folder left');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('a truncated .deb: one error naming it, the temporary folder removed, no entry', async () => {
  const k = await getDebianKernel();
  const realDebs = path.join(path.dirname(path.dirname(path.dirname(k.vmlinux!))), 'debs');
  const cache = scratchDir('kdive-cache-');
  try {
    const image = path.join(realDebs, debFileName(await packageInfo(`linux-image-${k.version}`)));
    const cut = path.join(cache, 'cut.deb');
    await copyFile(image, cut);
    await truncate(cut, Math.floor((await stat(image)).size / 2));
    const entry = path.join(cache, 'kernels', 'linux-image-x_1');
    await assert.rejects(unpackDebianKernel({ image: cut }, entry, { progress: silentProgress }), (e: unknown) =>
      e instanceof KdiveError && e.message.includes(`unpacking ${cut} failed`) && /dpkg-deb --fsys-tarfile/.test(e.message) && /retry/.test(e.message) && !e.message.includes('\n'));
    assert.deepEqual(await readdir(path.join(cache, 'kernels')), []);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('a package apt does not know: the apt-get update message (not root: no update tried)', async () => {
  const apt = new AptClient({ isRoot: false });
  await assert.rejects(apt.packageInfo('linux-image-0.0.0-0-kdive-nonesuch'), (e: unknown) =>
    e instanceof KdiveError && /^no package linux-image-0\.0\.0-0-kdive-nonesuch in apt: package lists are empty or stale: run 'apt-get update' \(as root\)/.test(e.message));
  await assert.rejects(resolveDebianKernel('cloud-amd64', { progress: silentProgress, apt: new AptClient({ isRoot: false, runner: async () => '' }), cacheDir: os.tmpdir() }),
    /no package linux-image-cloud-amd64 in apt: package lists are empty or stale/);
});
