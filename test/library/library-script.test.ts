import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

// From the sources (tsx) this file is test/library/; from the build, dist/test/library/.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.ts') ? '../..' : '../../..');

/** The README's library script, run as a user runs it: `import { Session } from 'kdive'`. */
test('examples/trace-mkdir.ts (the README script) boots, breaks, reads current->comm and the tasks, and finishes', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/trace-mkdir.ts'], { cwd: repoRoot, timeout: 300_000 });
  assert.match(stdout, /^do_mkdirat\(0x[0-9a-f]+ "\/tmp\/test"\) called by "mkdir(\\000)*" on CPU 0$/m);
  assert.match(stdout, /^do_mkdirat \(fs\/namei\.c:\d+\)$/m);
  assert.match(stdout, /<- entry_SYSCALL_64/);
  assert.match(stdout, /^task 1 \S+ [RS]$/m);
  assert.match(stdout, /^task \d+ mkdir R$/m);
  assert.match(stdout, /^guest exited with status 0$/m);
  assert.deepEqual(newQemuPids(before), []);
});
