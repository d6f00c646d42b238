import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runKdive } from '../support/cli-runner.js';

/** --source debian fetches linux-source-X.Y of the same package version and shows the compiled lines. */
test('stops show the source lines of the matching Debian source tree', async () => {
  const r = await runKdive(['run', '--json', '--source', 'debian', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test']);
  assert.equal(r.code, 0, r.stderr);
  const stop = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'stop');
  const byName = (n: string) => stop.frames.find((f: { function: string }) => f.function === n);
  // The breakpoint is on do_mkdirat's opening brace; its caller's line is the call to it;
  // the syscall entry's return address follows `call do_syscall_64` (an absolute build path, mapped).
  assert.equal(stop.frames[0].source, '{');
  assert.match(byName('__do_sys_mkdir').source, /do_mkdirat\(/);
  assert.match(byName('entry_SYSCALL_64').source, /call\s+do_syscall_64/);
});
