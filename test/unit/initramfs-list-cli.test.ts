import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';
import { seed } from '../fuzz/seeds/seeds.js';

test('kdive initramfs --list: a gzipped archive listed as cpio -itvn lists it; building without --guest is refused in one line', async () => {
  const dir = scratchDir('kdive-initramfs-list-');
  const gz = path.join(dir, 'gnu.cpio.gz');
  writeFileSync(gz, gzipSync(seed('cpio-gnu.newc')));
  const [listed, noGuest] = await Promise.all([
    runKdive(['initramfs', '--list', gz], { env: { TZ: 'UTC' } }),
    runKdive(['initramfs', '--out', path.join(dir, 'x.cpio.gz')]),
  ]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout, seed('cpio-gnu.listing').toString('utf8'));
  assert.deepEqual([noGuest.code, noGuest.stderr], [2, "kdive: required option '-g, --guest <command>' not specified (or --list FILE)\n"]);
});
