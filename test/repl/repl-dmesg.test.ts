import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';

const section = (out: string, from: string, to: string) => out.slice(out.indexOf(`${from}\n`) + from.length + 1, out.indexOf(`${to}\n`)).split('\n').filter(Boolean);

test('kdive debug: dmesg 20 prints the last 20 records of the log dmesg prints; a bad count is one line', async () => {
  const before = qemuPids();
  const script = ['break do_mkdirat', 'continue', 'echo ==ALL==\\n', 'dmesg', 'echo ==LAST==\\n', 'dmesg 20', 'echo ==END==\\n', 'dmesg twenty', 'quit'].join('\n');
  const r = await runKdive(['debug', '--guest', 'mkdir /tmp/x'], { input: `${script}\n`, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const all = section(r.stdout, '==ALL==', '==LAST==');
  const last = section(r.stdout, '==LAST==', '==END==');
  assert.ok(all.length > 100, `the whole log: ${all.length} lines`);
  assert.ok(last.length >= 20 && last.length < all.length, `${last.length} lines`);
  assert.deepEqual(last, all.slice(-last.length), 'the tail of the same log');
  // Records are told apart by their time stamps; a multi-line record shares its stamp.
  const stamps = last.map((l) => /^\[[ \d]+\.\d{6}\]/.exec(l)?.[0]);
  assert.ok(stamps.every(Boolean), last.join('\n'));
  const records = stamps.filter((s, i) => i === 0 || s !== stamps[i - 1]).length;
  assert.ok(records <= 20 && records >= 15, `${records} records`);
  assert.notEqual(all[all.length - last.length - 1]?.slice(0, 14), last[0]!.slice(0, 14), 'starts at a record, not inside one');
  assert.match(r.stdout, /^usage: dmesg \[N\], N a number of records \(not 'twenty'\)$/m);
  assert.deepEqual(newQemuPids(before), []);
});
