import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('kdive:'));
  assert.equal(lines.length, 1, `exactly one error line in:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  return lines[0]!;
}

test('an unknown breakpoint symbol: one line with the symbol, the vmlinux and close matches, exit 2, no QEMU', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--break', 'do_mkdirat_typo', '--guest', 'true']);
  assert.equal(r.code, 2);
  const line = oneLine(r.stderr);
  assert.match(line, /do_mkdirat_typo/);
  assert.match(line, /vmlinux/);
  assert.match(line, /did you mean: .*do_mkdirat/);
  assert.deepEqual(newQemuPids(before), []);
});

test('a truncated --vmlinux: one line naming the file and an offset', async () => {
  const k = await getDebianKernel();
  const dir = scratchDir('kdive-test-');
  const truncated = path.join(dir, 'vmlinux-truncated');
  const fh = await open(k.vmlinux!, 'r');
  const head = Buffer.alloc(4096);
  await fh.read(head, 0, head.length, 0);
  await fh.close();
  await writeFile(truncated, head);
  const r = await runKdive(['run', '--kernel', k.bzImage, '--vmlinux', truncated, '--break', 'do_mkdirat', '--guest', 'true']);
  assert.notEqual(r.code, 0);
  const line = oneLine(r.stderr);
  assert.match(line, /vmlinux-truncated/);
  assert.match(line, /offset 0x[0-9a-f]+/);
});

test('a guest that never powers off is ended by --timeout, with a clear line and no QEMU left', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--break', 'do_mkdirat', '--guest', 'sleep 100000', '--timeout', '25']);
  assert.equal(r.code, 124);
  assert.match(oneLine(r.stderr), /did not power off within 25 s/);
  assert.deepEqual(newQemuPids(before), []);
});
