import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** The README's scenario, end to end, as a user runs it: real kernel, real QEMU, real gdbstub. */
test('kdive run --json stops at do_mkdirat with a backtrace down to entry_SYSCALL_64, then the guest exits 0', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test && ls -d /tmp/test']);
  assert.equal(r.code, 0, `exit code ${r.code}\nstderr:\n${r.stderr}`);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const stops = events.filter((e) => e.event === 'stop');
  assert.ok(stops.length >= 1, `no stop event in ${r.stdout}`);
  const stop = stops.find((s) => s.breakpoint === 'do_mkdirat');
  assert.ok(stop, 'a stop at do_mkdirat');
  assert.match(stop.pc, /^0x[0-9a-f]+$/);
  assert.equal(stop.cpu, 0);
  assert.equal(stop.frames[0].function, 'do_mkdirat');
  assert.equal(stop.frames[0].offset, 0);
  assert.equal(stop.frames[0].pc, stop.pc);
  const names: string[] = stop.frames.map((f: { function: string }) => f.function);
  const expected = ['do_mkdirat', '__x64_sys_mkdir', 'do_syscall_64', 'entry_SYSCALL_64'];
  let at = -1;
  for (const fn of expected) {
    const i = names.indexOf(fn, at + 1);
    assert.ok(i > at, `${fn} after position ${at} in ${names.join(' <- ')}`);
    at = i;
  }
  // Source lines and inlined frames, as gdb shows them: do_mkdirat's line is what addr2line says of its pc.
  const k = await getDebianKernel();
  const a2l = execFileSync('addr2line', ['-e', k.vmlinux!, stop.pc], { encoding: 'utf8' }).trim();
  assert.equal(stop.frames[0].file, 'fs/namei.c');
  assert.equal(`${stop.frames[0].line}`, a2l.split(':').pop());
  const inlined = stop.frames.filter((f: { inlined: boolean }) => f.inlined).map((f: { function: string }) => f.function);
  assert.ok(inlined.includes('__do_sys_mkdir') && inlined.includes('__se_sys_mkdir'), `inlined frames: ${inlined}`);
  // Arguments where the debug info locates them: mkdir(2) passes AT_FDCWD (-100) and mode 0777, and
  // the caller's `pathname` (a callee-saved register recovered with .debug_frame) is the guest's string.
  const args = Object.fromEntries(stop.frames[0].args.map((a: { name: string; value: string }) => [a.name, a.value]));
  assert.equal(args.dfd, '-100');
  assert.equal(args.mode, '511');
  const doSys = stop.frames.find((f: { function: string }) => f.function === '__do_sys_mkdir');
  assert.match(doSys.args.find((a: { name: string }) => a.name === 'pathname').value, /^0x[0-9a-f]+ "\/tmp\/test"$/);
  // The syscall boundary: mkdir is syscall 83 on x86-64, made from user space.
  assert.equal(stop.unwindEnd.reason, 'user');
  assert.equal(stop.unwindEnd.user.syscall, 83);
  const last = events[events.length - 1];
  assert.deepEqual({ event: last.event, guestStatus: last.guestStatus }, { event: 'exit', guestStatus: 0 });
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
