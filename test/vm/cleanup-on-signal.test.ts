import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { newQemuPids, qemuPids, runKdive, startKdive, until } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { kdiveRunFolders, TEST_TMPDIR } from '../support/own-resources.js';

/** Every test here starts with no run folder of its own left over. */
function noRunFolders(what: string): void {
  assert.deepEqual(kdiveRunFolders(), [], `${what}: run folders left in ${TEST_TMPDIR}`);
}

/** Starts `kdive run` on a guest that never ends, waits until `ready`, then signals kdive. */
async function signalDuringRun(signal: NodeJS.Signals, ready: (stdout: string) => boolean) {
  await getDebianKernel();
  const before = qemuPids();
  const run = startKdive(['run', '--break', 'do_mkdirat', '--guest', 'sleep 100000']);
  await until('kdive to get that far', () => ready(run.stdout()), 240_000);
  const qemuSeen = newQemuPids(before);
  const foldersSeen = kdiveRunFolders();
  run.child.kill(signal);
  const code = await run.exited;
  await new Promise((r) => setTimeout(r, 300));
  return { code, stderr: run.stderr(), qemuSeen, foldersSeen, left: newQemuPids(before) };
}

const EXIT_CODES = { SIGTERM: 143, SIGINT: 130, SIGHUP: 129 } as const;

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} to kdive run ends its QEMU and removes its run folders`, async () => {
    // "Booting" is printed once QEMU is up and the breakpoint is in.
    const r = await signalDuringRun(signal, (out) => out.includes('Booting'));
    assert.equal(r.qemuSeen.length, 1, `one QEMU was running before the signal\n${r.stderr}`);
    assert.ok(r.foldersSeen.some((f) => f.startsWith('kdive-session-')), `the session folder existed: ${r.foldersSeen}`);
    assert.equal(r.code, EXIT_CODES[signal]);
    assert.deepEqual(r.left, [], 'no QEMU left');
    noRunFolders(signal);
  });
}

test('SIGTERM while kdive run is still preparing the boot (run folder made, QEMU not started): the folder goes', async () => {
  const r = await signalDuringRun('SIGTERM', () => kdiveRunFolders().some((f) => f.startsWith('kdive-session-')));
  assert.equal(r.code, 143, r.stderr);
  assert.deepEqual(r.left, []);
  noRunFolders('SIGTERM during the boot');
});

test('--timeout and an error during the boot remove the run folders too', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const timedOut = await runKdive(['run', '--break', 'do_mkdirat', '--guest', 'sleep 100000', '--timeout', '20']);
  assert.equal(timedOut.code, 124, timedOut.stderr);
  noRunFolders('--timeout');
  // No /dev/kvm here, or a KVM QEMU refuses: forcing it makes QEMU fail at start.
  const failed = await runKdive(['run', '--break', 'do_mkdirat', '--guest', 'true'], { env: { KDIVE_ACCEL: existsSync('/dev/kvm') ? 'nonsense-accel' : 'kvm' } });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /^kdive: .*QEMU/m, failed.stderr);
  noRunFolders('an error during the boot');
  assert.deepEqual(newQemuPids(before), []);
});

/** Sends DAP requests (Content-Length framing) on a stream. */
function dapSend(stream: NodeJS.WritableStream, seq: number, command: string, args: Record<string, unknown>): void {
  const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
  stream.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

test('a DAP client that goes away without disconnect: its QEMU and run folders go (stdio and --port)', async () => {
  await getDebianKernel();
  const before = qemuPids();
  // stdio: the editor's end of the pipe closes.
  const stdio = startKdive(['dap'], { stdin: 'pipe' });
  dapSend(stdio.child.stdin!, 1, 'initialize', { adapterID: 'kdive' });
  dapSend(stdio.child.stdin!, 2, 'launch', { guest: 'sleep 100000' });
  await until('the launched QEMU', () => newQemuPids(before).length === 1 && /booted/.test(stdio.stdout()), 240_000);
  stdio.child.stdin!.end();
  await stdio.exited;
  await until('QEMU gone after stdin closed', () => newQemuPids(before).length === 0, 15_000);
  noRunFolders('dap on stdio');

  // --port: the socket closes, the server stays.
  const server = startKdive(['dap', '--port', '0']);
  try {
    await until('the server', () => /listening on 127\.0\.0\.1:\d+/.test(server.stderr()), 60_000);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(server.stderr())![1]);
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    dapSend(socket, 1, 'initialize', { adapterID: 'kdive' });
    dapSend(socket, 2, 'launch', { guest: 'sleep 100000' });
    await until('the launched QEMU', () => newQemuPids(before).length === 1 && /booted/.test(got), 240_000);
    socket.destroy();
    await until('QEMU gone after the socket closed', () => newQemuPids(before).length === 0, 15_000);
    noRunFolders('dap --port');
    assert.equal(server.child.exitCode, null, 'the server goes on');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  assert.deepEqual(readdirSync(TEST_TMPDIR).filter((n) => n.startsWith('kdive-') && !path.basename(n).startsWith('kdive-accel')), []);
});
