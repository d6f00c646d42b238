/**
 * What the scenarios must show, whichever QEMU ran them: the 7.2 tests (test/e2e, test/crash,
 * test/kgdb, test/repl) and the QEMU 10 ones (test/vm/qemu10.test.ts) assert the same things here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { CliResult } from './cli-runner.js';

type JsonEvent = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- kdive's --json lines, read field by field

function jsonEvents(r: CliResult): JsonEvent[] {
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonEvent);
}

/**
 * `kdive run --json --break do_mkdirat --guest 'mkdir /tmp/test && ls -d /tmp/test'`: a stop at
 * do_mkdirat with a backtrace down to entry_SYSCALL_64, source lines as addr2line gives them,
 * inlined frames, arguments, the syscall boundary; then the guest exits 0.
 */
export function checkMkdirRun(r: CliResult, vmlinux: string): void {
  assert.equal(r.code, 0, `exit code ${r.code}\nstderr:\n${r.stderr}`);
  const events = jsonEvents(r);
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
  const a2l = execFileSync('addr2line', ['-e', vmlinux, stop.pc], { encoding: 'utf8' }).trim();
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
  const last = events[events.length - 1]!;
  assert.deepEqual({ event: last.event, guestStatus: last.guestStatus }, { event: 'exit', guestStatus: 0 });
}

/** `kdive run --json --guest 'echo c > /proc/sysrq-trigger'`: one panic event with sysrq_handle_crash in its frames, exit 3. */
export function checkPanicRun(r: CliResult): void {
  assert.equal(r.code, 3, r.stderr);
  const panics = jsonEvents(r).filter((e) => e.event === 'panic');
  assert.equal(panics.length, 1);
  const p = panics[0]!;
  assert.equal(p.message, 'sysrq triggered crash');
  const names = (p.frames as { function: string }[]).map((f) => f.function);
  assert.equal(names[0], 'panic');
  assert.ok(names.includes('sysrq_handle_crash'), names.join(' <- '));
  assert.ok((p.dmesg as string[]).some((l) => /sysrq: Trigger a crash/.test(l)));
}

/** `kdive run --json --transport kgdb --break do_mkdirat ...` on the KGDB kernel: the stop's backtrace reaches entry_SYSCALL_64, the guest exits 0. */
export function checkKgdbMkdirRun(r: CliResult): void {
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const events = jsonEvents(r);
  const stop = events.find((e) => e.event === 'stop' && e.breakpoint === 'do_mkdirat');
  assert.ok(stop, r.stdout);
  const names = (stop.frames as { function: string }[]).map((f) => f.function);
  assert.equal(names[0], 'do_mkdirat');
  assert.ok(names.includes('do_syscall_64'), names.join(' <- '));
  assert.ok(names.includes('entry_SYSCALL_64'), names.join(' <- '));
  assert.equal(events[events.length - 1]!.event, 'exit');
  assert.equal(events[events.length - 1]!.guestStatus, 0);
}

/** A REPL script for `kdive debug --guest 'mkdir /tmp/x'`: break, continue, bt, p current->comm, info registers. */
export const DEBUG_SCRIPT = ['break do_mkdirat', 'continue', 'bt', 'p current->comm', 'info registers', 'quit'];

/** What DEBUG_SCRIPT prints: the stop, a backtrace to entry_SYSCALL_64, the guest's mkdir as current, the registers. */
export function checkDebugScript(r: CliResult): void {
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Breakpoint 1 at 0x[0-9a-f]+: file fs\/namei\.c, line \d+\.$/m);
  assert.match(r.stdout, /^Breakpoint 1, do_mkdirat \(dfd=dfd@entry=-100, name=0x[0-9a-f]+, mode=mode@entry=511\) at fs\/namei\.c:\d+$/m);
  assert.match(r.stdout, /^#0 +do_mkdirat \(/m);
  assert.match(r.stdout, /^#\d+ +0x[0-9a-f]+ in __do_sys_mkdir \(.*pathname=0x[0-9a-f]+ "\/tmp\/x"\)/m);
  assert.match(r.stdout, /^#\d+ +0x[0-9a-f]+ in entry_SYSCALL_64 \(\)/m);
  assert.match(r.stdout, /^ +\(user space: rip=0x[0-9a-f]+ rsp=0x[0-9a-f]+, syscall 83\)$/m);
  assert.match(r.stdout, /^\$1 = "mkdir(\\000)+"$/m);
  assert.match(r.stdout, /^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <do_mkdirat>$/m);
  assert.match(r.stdout, /^rdi +0xffffff9c +4294967196$/m, 'AT_FDCWD in the first argument register');
  assert.match(r.stdout, /^cs +0x10 +16$/m);
  for (const reg of ['rax', 'rsp', 'r15', 'eflags', 'fs_base', 'gs_base', 'cr3', 'efer']) assert.match(r.stdout, new RegExp(`^${reg} +0x[0-9a-f]+ `, 'm'), reg);
}
