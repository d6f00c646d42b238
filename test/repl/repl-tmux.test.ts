import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { kdiveNodeArgs, newQemuPids, qemuPids } from '../support/cli-runner.js';
import { OWNER_VARIABLE } from '../support/own-resources.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** A shell word. */
const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/**
 * The command line tmux runs. A tmux server already running (someone else's) would give the
 * session its own environment: this test's owner mark and TMPDIR are passed explicitly.
 */
function kdiveCommandLine(args: string[]): string {
  const env = [OWNER_VARIABLE, 'TMPDIR'].map((v) => `${v}=${process.env[v] ?? ''}`);
  return ['env', ...env, process.execPath, ...kdiveNodeArgs(args)].map(quote).join(' ');
}

/** A terminal the test types into and reads, as a user would: tmux with a fixed size. */
class Terminal {
  constructor(readonly name: string) {}

  static start(command: string): Terminal {
    const name = `kdive-test-${process.pid}-${Date.now()}`;
    execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', '220', '-y', '50', command]);
    return new Terminal(name);
  }

  screen(): string {
    try {
      return execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', this.name, '-S', '-5000'], { encoding: 'utf8' });
    } catch {
      return '';
    }
  }

  alive(): boolean {
    try {
      execFileSync('tmux', ['has-session', '-t', this.name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  type(line: string): void {
    this.keys('-l', line);
    this.keys('Enter');
  }

  /** Waits until the screen, after `from` characters, matches; returns the new part. */
  async waitFor(pattern: RegExp, from: number, timeoutMs = 240_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const part = this.screen().slice(from);
      if (pattern.test(part)) return part;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen:\n${this.screen().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  kill(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.name], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}

test('kdive debug in a terminal: Tab completion, break, continue, bt, print, finish, ps, dmesg, Ctrl-C, quit', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const guest = 'mkdir /tmp/test; i=0; while true; do i=$((i+1)); done';
  const term = Terminal.start(kdiveCommandLine(['debug', '--guest', guest]));
  try {
    await term.waitFor(/\(kdive\) $/m, 0);
    let mark = term.screen().length;
    const run = async (cmd: string, expect: RegExp, timeoutMs?: number) => {
      // Each command's output is read after its own line: earlier output cannot satisfy the wait.
      mark = Math.max(0, term.screen().lastIndexOf('(kdive)') );
      term.type(cmd);
      return term.waitFor(new RegExp(`${cmd.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*${expect.source}[\\s\\S]*\\(kdive\\) $`, 'm'), mark, timeoutMs);
    };
    // Tab completes the command and the kernel symbol: `brea<Tab> do_mkdira<Tab>`.
    mark = term.screen().lastIndexOf('(kdive)');
    term.keys('-l', 'brea');
    term.keys('Tab');
    term.keys('-l', ' do_mkdira');
    term.keys('Tab');
    await term.waitFor(/\(kdive\) break do_mkdirat/, mark);
    term.keys('Enter');
    await term.waitFor(/Breakpoint 1 at 0x[0-9a-f]+: file fs\/namei\.c, line \d+\.[\s\S]*\(kdive\) $/m, mark);
    // The arguments as gdb prints them, with the values the caller passed (entry values from its call site).
    await run('continue', /Breakpoint 1, do_mkdirat \(dfd=dfd@entry=-100, name=0x[0-9a-f]+, mode=mode@entry=511\) at fs\/namei\.c:\d+/);
    const bt = await run('bt', /entry_SYSCALL_64/);
    assert.match(bt, /#0 +do_mkdirat \(.*\) at fs\/namei\.c:\d+/);
    assert.match(bt, /__x64_sys_mkdir .* at fs\/namei\.c:\d+/);
    assert.match(bt, /do_syscall_64 .* at arch\/x86\/entry\/common\.c:\d+/);
    await run('p name->name', /\$1 = 0x[0-9a-f]+ "\/tmp\/test"/);
    await run('finish', /Run till exit from #0 +do_mkdirat[\s\S]*__x64_sys_mkdir[\s\S]*Value returned is \$2 = 0/);
    const ps = await run('ps', /\[kthreadd\]/);
    assert.match(ps, /^>? +\d+ +\d+ R +0 0x[0-9a-f]+ +mkdir$/m, 'the task that ran mkdir');
    assert.match(ps, /^ +\d+ +\d+ [RS] +0 0x[0-9a-f]+ +sh$/m, 'the guest shell');
    await run('dmesg', /Run \/init as init process/);
    await run('delete', /(?:)/);
    // The guest now spins in its shell loop: Ctrl-C must stop the kernel, not kdive.
    mark = term.screen().lastIndexOf('(kdive)');
    term.type('continue');
    await term.waitFor(/Continuing\./, mark);
    await new Promise((r) => setTimeout(r, 3000));
    term.keys('C-c');
    await term.waitFor(/received signal SIGINT, Interrupt\.[\s\S]*\(kdive\) $/m, mark);
    await run('info registers rip', /rip +0x[0-9a-f]+ +0x[0-9a-f]+/);
    term.type('quit');
    const deadline = Date.now() + 60_000;
    while (term.alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(term.alive(), false, `kdive did not quit:\n${term.screen().slice(-2000)}`);
  } finally {
    term.kill();
  }
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left behind');
});
