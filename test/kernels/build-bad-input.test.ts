import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

test('kernel build: a source tree that does not build names its log file and the last error line', async () => {
  const tree = scratchDir('kdive-badtree-');
  mkdirSync(path.join(tree, 'arch/x86'), { recursive: true });
  writeFileSync(path.join(tree, 'Makefile'), 'tinyconfig:\n\t@echo "scripts/kconfig: error: boom in Kconfig line 42" >&2; exit 2\n');
  const out = scratchDir('kdive-badbuild-');
  const r = await runKdive(['kernel', 'build', tree, '--fragment', 'kgdb', '--out', path.join(out, 'k')]);
  assert.notEqual(r.code, 0);
  const err = r.stderr.trim().split('\n').filter((l) => l.startsWith('kdive: '));
  assert.equal(err.length, 1, r.stderr);
  assert.match(err[0]!, /kernel build failed \(make tinyconfig\): scripts\/kconfig: error: boom in Kconfig line 42 \(full log: (\S+build\.log)\)/);
  const log = /full log: (\S+build\.log)/.exec(err[0]!)![1]!;
  assert.ok(existsSync(log), `${log} is kept`);
  const notTree = await runKdive(['kernel', 'build', out, '--fragment', 'kgdb']);
  assert.match(notTree.stderr.trim(), /^kdive: .* is not a Linux source tree \(no Makefile and arch\/x86\)$/);
  const badFragment = await runKdive(['kernel', 'build', tree, '--fragment', 'huge']);
  assert.match(badFragment.stderr.trim(), /^kdive: unknown --fragment 'huge': use kgdb, minimal, debug$/);
});

test('--transport kgdb with a kernel built without KGDB is refused at once, from its config, before anything boots', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const r = await runKdive(['run', '--transport', 'kgdb', '--break', 'do_mkdirat', '--guest', 'true']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim().split('\n').pop()!, /^kdive: 6\.1\.0-\d+-cloud-amd64 cannot be debugged over kgdb: CONFIG_KGDB and CONFIG_KGDB_SERIAL_CONSOLE are not set in \S+config \(build one with: kdive kernel build --fragment kgdb\)$/);
  assert.deepEqual(newQemuPids(before), []);
});
