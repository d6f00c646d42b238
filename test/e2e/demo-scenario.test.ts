import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { checkMkdirRun } from '../support/scenario-checks.js';

/** The README's scenario, end to end, as a user runs it: real kernel, real QEMU, real gdbstub. */
test('kdive run --json stops at do_mkdirat with a backtrace down to entry_SYSCALL_64, then the guest exits 0', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test && ls -d /tmp/test']);
  checkMkdirRun(r, (await getDebianKernel()).vmlinux!);
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left behind');
});

test('the guest command status becomes the exit status, and text output names the frames', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/a; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stdout, /Breakpoint 1, do_mkdirat/);
  assert.match(r.stdout, /in __x64_sys_mkdir\+0x/);
  assert.match(r.stdout, /in entry_SYSCALL_64\+0x/);
  assert.match(r.stdout, /exited with status 7/);
  assert.deepEqual(newQemuPids(before), []);
});

test('kdive run --break FILE:LINE: a line without code moves to the next (fs/namei.c:4168 -> 4169), a line of two inlined copies stops in either, each stop named', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--break', 'fs/namei.c:4168', '--break', 'net/socket.c:1643', '--guest', 'busybox ifconfig lo 127.0.0.1 up && mkdir /tmp/test']);
  assert.equal(r.code, 0, `exit code ${r.code}\nstderr:\n${r.stderr}`);
  const stops = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'stop');
  const mkdir = stops.find((s) => s.breakpoint === 'fs/namei.c:4168');
  assert.ok(mkdir, r.stdout);
  assert.equal(mkdir.frames[0].function, 'do_mkdirat');
  assert.equal(mkdir.frames[0].line, 4169);
  const socket = stops.find((s) => s.breakpoint === 'net/socket.c:1643');
  assert.ok(socket, r.stdout);
  assert.ok(socket.frames.some((f: { function: string }) => f.function === '__sys_socket_create'), JSON.stringify(socket.frames.map((f: { function: string }) => f.function)));
  assert.deepEqual(newQemuPids(before), []);
});
