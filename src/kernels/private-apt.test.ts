import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import { fetchFailure, PrivateApt, type AptRunner } from './private-apt.js';

// `apt-cache show --no-all-versions seabios` through the private bookworm-backports list (2026-12-03).
const SHOW_SEABIOS = `Package: seabios
Version: 1.16.3-2~bpo12+1
Installed-Size: 544
Architecture: all
Filename: pool/main/s/seabios/seabios_1.16.3-2~bpo12+1_all.deb
Size: 164452

`;
// apt-get update's stderr when the archive cannot be reached (it still exits 0).
const UNREACHABLE = `W: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm-backports/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
W: Some index files failed to download. They have been ignored, or old ones used instead.
`;

function fakeApt(opts: { updateStderr?: string; writeLists?: boolean } = {}): { run: AptRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: AptRunner = async (command, args) => {
    calls.push([command, ...args]);
    const lists = args.find((a) => a.startsWith('Dir::State::Lists='))!.slice('Dir::State::Lists='.length);
    if (args.includes('update')) {
      if (opts.writeLists !== false) for (const s of ['bookworm', 'bookworm-backports']) writeFileSync(path.join(lists, `deb.debian.org_debian_dists_${s}_main_binary-amd64_Packages.lz4`), '');
      return { stdout: '', stderr: opts.updateStderr ?? '' };
    }
    if (args.includes('show') && args.at(-1) === 'seabios') return { stdout: SHOW_SEABIOS, stderr: '' };
    throw Object.assign(new Error('E: No packages found'), { stderr: 'E: No packages found' });
  };
  return { run, calls };
}

function withCache(body: (cacheDir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kdive-private-apt-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const SUITES = { name: 'bookworm-backports', suites: ['bookworm', 'bookworm-backports'], preferred: 'bookworm-backports' };

test('private apt: its own source list, lists, status and cache; never /etc/apt nor /var/lib/apt', withCache(async (cacheDir) => {
  const { run, calls } = fakeApt();
  const apt = new PrivateApt({ ...SUITES, cacheDir, run });
  const info = await apt.packageInfo('seabios');
  assert.deepEqual([info.name, info.version, info.size, info.architecture], ['seabios', '1.16.3-2~bpo12+1', 164452, 'all']);
  const dir = path.join(cacheDir, 'apt', 'bookworm-backports');
  assert.equal(readFileSync(path.join(dir, 'sources.list'), 'utf8'),
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n' +
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main\n');
  assert.deepEqual(calls.map((c) => c.filter((a) => !a.startsWith('-') && !a.includes('=')).join(' ')), ['apt-get update', 'apt-cache show seabios']);
  for (const call of calls) {
    assert.ok(call.includes(`Dir::Etc::sourcelist=${dir}/sources.list`) && call.includes('Dir::Etc::sourceparts=/nonexistent'));
    assert.ok(call.includes(`Dir::State::Lists=${dir}/lists`) && call.includes(`Dir::State::status=${dir}/status`) && call.includes(`Dir::Cache=${dir}/cache`));
    assert.ok(call.includes('APT::Default-Release=bookworm-backports'));
    assert.ok(!call.some((a) => a.includes('/etc/apt') || a.includes('/var/lib/apt')));
  }
}));

test('private apt: apt-get update once a day, and again when the suites change', withCache(async (cacheDir) => {
  let now = Date.parse('2026-12-03T12:00:00Z');
  const { run, calls } = fakeApt();
  const updates = () => calls.filter((c) => c.includes('update')).length;
  await new PrivateApt({ ...SUITES, cacheDir, run, now: () => now }).ensureUpdated();
  await new PrivateApt({ ...SUITES, cacheDir, run, now: () => now }).ensureUpdated();
  assert.equal(updates(), 1);
  now += 25 * 3600 * 1000;
  await new PrivateApt({ ...SUITES, cacheDir, run, now: () => now }).ensureUpdated();
  assert.equal(updates(), 2);
  await new PrivateApt({ ...SUITES, suites: ['bookworm', 'bookworm-backports', 'trixie'], cacheDir, run, now: () => now }).ensureUpdated().catch((e: unknown) => {
    // the fake writes no trixie list: the update happened, and its lists are reported missing
    assert.ok(e instanceof KdiveError);
  });
  assert.equal(updates(), 3);
}));

test('private apt: an unreachable archive is one line saying so', withCache(async (cacheDir) => {
  const { run } = fakeApt({ updateStderr: UNREACHABLE, writeLists: false });
  await assert.rejects(new PrivateApt({ ...SUITES, cacheDir, run }).packageInfo('seabios'), (e: unknown) => {
    assert.ok(e instanceof KdiveError);
    assert.match(e.message, /^cannot reach the Debian archive http:\/\/deb\.debian\.org\/debian for bookworm, bookworm-backports: .*Could not connect to 127\.0\.0\.1:9.*; check the network/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}));

test('private apt: yesterday\'s lists are used when the archive cannot be reached today', withCache(async (cacheDir) => {
  const dir = path.join(cacheDir, 'apt', 'bookworm-backports');
  const first = fakeApt();
  await new PrivateApt({ ...SUITES, cacheDir, run: first.run, now: () => Date.parse('2026-12-01T00:00:00Z') }).ensureUpdated();
  mkdirSync(path.join(dir, 'lists'), { recursive: true });
  const notes: string[] = [];
  const offline = fakeApt({ updateStderr: UNREACHABLE, writeLists: false });
  const info = await new PrivateApt({ ...SUITES, cacheDir, run: offline.run }).packageInfo('seabios', { start: () => ({ update() {}, finish() {}, fail() {} }), note: (m) => notes.push(m) });
  assert.equal(info.version, '1.16.3-2~bpo12+1');
  assert.match(notes.join('\n'), /cannot refresh the package lists .* using those of 2026-12-01/);
}));

test('private apt: a package the suites do not have', withCache(async (cacheDir) => {
  const { run } = fakeApt();
  await assert.rejects(new PrivateApt({ ...SUITES, cacheDir, run }).packageInfo('no-such-package'), /^KdiveError: no package no-such-package in bookworm, bookworm-backports/);
}));

test('fetchFailure: the reason in apt-get update\'s warnings', () => {
  assert.equal(fetchFailure(UNREACHABLE), 'http://127.0.0.1:9/debian/dists/bookworm-backports/InRelease Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)');
  assert.equal(fetchFailure('W: Download is performed unsandboxed as root\n'), undefined);
});
