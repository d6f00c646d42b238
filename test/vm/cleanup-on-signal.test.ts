import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kdiveNodeArgs, newQemuPids, qemuPids } from '../support/cli-runner.js';

/** Starts `kdive run` on a guest that never ends, waits until its QEMU runs, then signals kdive. */
async function signalDuringRun(signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; qemuSeen: number[]; left: number[] }> {
  const before = qemuPids();
  const child = spawn(process.execPath, kdiveNodeArgs(['run', '--break', 'do_mkdirat', '--guest', 'sleep 100000']), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  // "Booting" is printed once QEMU is up and the breakpoint is in.
  for (let i = 0; i < 600 && !stdout.includes('Booting'); i++) await new Promise((r) => setTimeout(r, 100));
  const qemuSeen = newQemuPids(before);
  child.kill(signal);
  const code = await closed;
  await new Promise((r) => setTimeout(r, 300));
  return { code, stderr, qemuSeen, left: newQemuPids(before) };
}

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} to kdive ends its QEMU too`, async () => {
    const r = await signalDuringRun(signal);
    assert.equal(r.qemuSeen.length, 1, `one QEMU was running before the signal\n${r.stderr}`);
    assert.equal(r.code, code);
    assert.deepEqual(r.left, [], 'no QEMU left');
  });
}
