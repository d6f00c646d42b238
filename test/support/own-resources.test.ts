import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { OWNER_VARIABLE, TEST_TMPDIR, scratchDir } from './own-resources.js';
import { newQemuPids, qemuPids } from './cli-runner.js';

const fromSource = import.meta.url.endsWith('.ts');
const IDLE_QEMU = ['-machine', 'none', '-display', 'none', '-nodefaults', '-S', '-monitor', 'none', '-serial', 'none'];

test('qemuPids counts the QEMUs this test started, not one someone else started meanwhile', async () => {
  const before = qemuPids();
  const strangerEnv = { ...process.env };
  delete strangerEnv[OWNER_VARIABLE];
  const stranger = spawn('qemu-system-x86_64', IDLE_QEMU, { stdio: 'ignore', env: strangerEnv });
  const ours = spawn('qemu-system-x86_64', IDLE_QEMU, { stdio: 'ignore' });
  try {
    let seen: number[] = [];
    for (let i = 0; i < 100 && !seen.includes(ours.pid!); i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = newQemuPids(before);
    }
    assert.deepEqual(seen, [ours.pid], 'ours is counted, the stranger is not');
  } finally {
    stranger.kill('SIGKILL');
    ours.kill('SIGKILL');
  }
  await new Promise((r) => ours.once('exit', r));
  assert.deepEqual(newQemuPids(before), [], 'a QEMU that ended is not counted');
});

test('the test TMPDIR, with every scratch folder in it, is gone when the test process ends, even on a failure', () => {
  assert.equal(process.env.TMPDIR, TEST_TMPDIR);
  assert.ok(scratchDir('kdive-x-').startsWith(`${TEST_TMPDIR}/kdive-x-`));
  for (const ending of ['', 'process.exitCode = 1;', 'throw new Error("a failed test");']) {
    const script = `import { scratchDir, TEST_TMPDIR } from ${JSON.stringify(new URL(`./own-resources.${fromSource ? 'ts' : 'js'}`, import.meta.url).href)};
      import { writeFileSync } from 'node:fs';
      writeFileSync(scratchDir('kdive-fixture-') + '/f', 'x'); console.log(TEST_TMPDIR); ${ending}`;
    const r = spawnSync(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script], { encoding: 'utf8' });
    const dir = r.stdout.trim();
    assert.ok(dir.startsWith('/'), `the child printed its TMPDIR: ${r.stderr}`);
    assert.equal(existsSync(dir), false, `${dir} is removed (${ending || 'normal end'})`);
  }
});
