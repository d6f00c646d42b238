import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Session } from '../../src/session/session.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { replOutput } from '../support/repl-runner.js';

const repl = replOutput;

/** Commands whose whole output gdb, attached to the same stop, must print identically ([kdive, gdb] when they differ). */
const CURRENT = '((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))';
const SAME_OUTPUT: (string | [string, string])[] = [
  'info line',
  'info line 4176',
  'info line do_mkdirat',
  'info line *0xffffffff813632b4',
  'disassemble $pc,+24',
  'disassemble /r $pc,$pc+12',
  'disassemble /r 0xffffffff813632c5,+20',
  'printf "dfd=%d name=%s [%5d|%-5d|%05d] %#x %x %o %c %lu %ld %u\\n", dfd, name->name, dfd, 42, 42, 255, mode, mode, 65, -1, -1L, -1',
  ['printf "%s|%.3s|%8s|%-8s|%p\\n", current->comm, name->name, name->name, current->comm, current', `printf "%s|%.3s|%8s|%-8s|%p\\n", ${CURRENT}->comm, name->name, name->name, ${CURRENT}->comm, ${CURRENT}`],
  'echo one\\ttwo\\n',
];

test('REPL commands print what gdb prints at the same stop: info line, disassemble ranges, printf, echo', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test' });
  try {
    await session.addBreakpoint('do_mkdirat');
    assert.equal((await session.resume()).kind, 'breakpoint');
    const ours: string[] = [];
    for (const c of SAME_OUTPUT) ours.push((await repl(session, [typeof c === 'string' ? c : c[0]])).replace(/\n$/, ''));
    // Hand the stopped VM to gdb: drop our connection without detaching (QEMU keeps the VM paused).
    session.target.close();
    const args = ['-nx', '-batch', '-ex', `target remote ${session.vm!.gdb.host}:${session.vm!.gdb.port}`];
    for (const c of SAME_OUTPUT) args.push('-ex', 'echo <<<\\n', '-ex', typeof c === 'string' ? c : c[1]);
    const out = execFileSync('gdb', [...args, kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const theirs = out.replace(/\[Inferior 1 \(process 1\) detached\]\n?$/, '').split('<<<\n').slice(1).map((s) => s.replace(/\n$/, ''));
    const mismatches = SAME_OUTPUT.map((c, i) => (ours[i] === theirs[i] ? '' : `${c}\n--- gdb:\n${theirs[i]}\n--- kdive:\n${ours[i]}`)).filter(Boolean);
    assert.deepEqual(mismatches, [], mismatches.join('\n'));
  } finally {
    await session.close();
  }
});

test('printf with string literals and widths formats as the C library does (printf(1) on the host)', async () => {
  const { formatPrintf } = await import('../../src/commands/printf-format.js');
  // Each argument as the shell's printf takes it, and as kdive's gets it.
  const str = (v: string) => ({ shell: v, ours: { string: async () => v } });
  const int = (v: bigint) => ({ shell: String(v), ours: { scalar: v } });
  const chr = (c: string) => ({ shell: c, ours: { scalar: BigInt(c.charCodeAt(0)) } });
  const cases: [string, { shell: string; ours: { scalar?: bigint; string?: () => Promise<string> } }[]][] = [
    ['%8s|%-8s|%.1s|\n', [str('ab'), str('cd'), str('ef')]],
    ['%d %i %5d %-5d| %05d %+d % d\n', [int(-42n), int(7n), int(42n), int(42n), int(-42n), int(5n), int(5n)]],
    ['%x %X %#x %#o %o %08x\n', [int(255n), int(255n), int(255n), int(8n), int(8n), int(0xbeefn)]],
    ['%u %c%c %%\n', [int(42n), chr('h'), chr('i')]],
  ];
  for (const [format, args] of cases) {
    const want = execFileSync('printf', [format, ...args.map((a) => a.shell)], { encoding: 'utf8' });
    const got = await formatPrintf(format.replace(/\\n/g, '\n'), args.map((a) => a.ours));
    assert.equal(got, want, format);
  }
});

test('breakpoint commands: silent, printf at each hit, continue, a conditional stop that runs its own; until and advance to a bare line number', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/a /tmp/b /tmp/c && mkdir /tmp/d' });
  try {
    const traced = await repl(session, [
      'break do_mkdirat',
      'commands',
      'silent',
      'printf "mkdir %s by %s\\n", name->name, current->comm',
      'continue',
      'end',
      "break vfs_mkdir if dentry->d_name.name[0] == 'c'",
      'commands 2',
      'printf "vfs_mkdir %s\\n", dentry->d_name.name',
      'end',
      'info breakpoints',
      'continue',
    ]);
    // Hits of 1 traced silently and resumed; 2 stops with its banner and runs its commands.
    const lines = traced.split('\n');
    assert.ok(lines.includes('        printf "mkdir %s by %s\\n", name->name, current->comm'), `info breakpoints lists the commands:\n${traced}`);
    assert.deepEqual(lines.filter((l) => /^(mkdir|vfs_mkdir) /.test(l)), ['mkdir /tmp/a by mkdir', 'mkdir /tmp/b by mkdir', 'mkdir /tmp/c by mkdir', 'vfs_mkdir c'], traced);
    assert.ok(!/^Breakpoint 1,/m.test(traced), `silent: no banner for breakpoint 1\n${traced}`);
    assert.match(traced, /^Breakpoint 2, vfs_mkdir \(/m);
    const rest = await repl(session, ['continue']);
    assert.deepEqual(rest.split('\n').filter((l) => l.startsWith('mkdir ')), ['mkdir /tmp/d by mkdir'], rest);
    assert.match(rest, /\[the guest powered off; guest command exit status 0\]/);
  } finally {
    await session.close();
  }
  const second = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test' });
  try {
    const out = await repl(second, ['break do_mkdirat', 'continue', 'until 4178', 'info line', 'advance 4183']);
    // until LINE stops where gdb's break LINE goes: 4178 has no code of its own there, and gdb
    // moves it to the next line with code (the oracle: gdb's break on the same vmlinux).
    const gdbBreak = execFileSync('gdb', ['-nx', '-batch', '-ex', 'break fs/namei.c:4178', kernel.vmlinux!], { encoding: 'utf8' });
    const where = /Breakpoint 1 at (0x[0-9a-f]+): file fs\/namei\.c, line (\d+)\./.exec(gdbBreak);
    assert.ok(where, gdbBreak);
    assert.match(out, new RegExp(`^(${where[1]} in )?do_mkdirat \\(.*\\) at fs/namei\\.c:\\d+$`, 'm'), out);
    assert.match(out, new RegExp(`^Line \\d+ of "fs/namei\\.c" starts at address ${where[1]} <do_mkdirat\\+\\d+>`, 'm'), out);
    assert.match(out, /^(0x[0-9a-f]+ in )?do_mkdirat \(.*\) at fs\/namei\.c:4183$/m, out);
  } finally {
    await second.close();
  }
});
