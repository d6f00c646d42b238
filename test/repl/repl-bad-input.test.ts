import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';

/** Scripted (stdin is not a terminal): each bad command gets one line and the next command still runs. */
test('kdive debug: unknown command, unknown symbol, syntax error, unreadable address, bad format: one line each, the session goes on', async () => {
  const before = qemuPids();
  const script = [
    'break do_mkdirat',
    'continue',
    'frobnicate',
    'break no_such_function_xyz',
    'print no_such_variable',
    'print 1 +',
    'print (struct no_such_struct *)0',
    'x/4gx 0',
    'p *(int *)8',
    'x/4q $rsp',
    'info nonsense',
    'print strlen("abc")',
    'print $lx_nonsense()',
    'print per_cpu(runqueues)',
    'print sizeof(struct list_head)',
    'quit',
  ].join('\n');
  const r = await runKdive(['debug', '--guest', 'mkdir /tmp/x'], { input: `${script}\n`, timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^Undefined command: "frobnicate"\.  Try "help"\.$/m);
  assert.match(out, /^no function named 'no_such_function_xyz' in .*vmlinux/m);
  assert.match(out, /^No symbol "no_such_variable" in current context\.$/m);
  assert.match(out, /^the expression ends too early \(at column 4\)$/m);
  assert.match(out, /^No symbol "no_such_struct" in current context\.$/m);
  assert.match(out, /^Cannot access memory at address 0x0$/m);
  assert.match(out, /^Cannot access memory at address 0x8$/m);
  assert.match(out, /^undefined output format or size letter 'q' in \/4q$/m);
  assert.match(out, /^Undefined info command: "nonsense"\./m);
  assert.match(out, /^kdive does not call kernel functions such as strlen\(\) \(there are \$percpu/m);
  assert.match(out, /^no function \$lx_nonsense in kdive \(there are/m);
  assert.match(out, /^usage: per_cpu\(per_cpu_variable, cpu\)$/m);
  // Still alive after all of that: the last command answers.
  assert.match(out, /^\$1 = 16$/m);
  assert.doesNotMatch(out + r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
  assert.deepEqual(newQemuPids(before), []);
});
