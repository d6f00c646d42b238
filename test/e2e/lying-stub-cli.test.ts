import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runKdive, type CliResult } from '../support/cli-runner.js';
import { FakeLyingRspStub, LIE_SCENARIOS, writeToyVmlinux, type LieScenario } from '../support/lying-rsp-stub.js';
import { scratchDir } from '../support/own-resources.js';

/**
 * `kdive debug --attach` and `kdive run --attach` against the FAKE lying stub
 * (test/support/lying-rsp-stub.ts), as a user runs them: whatever the stub says, kdive goes on
 * (the REPL answers each command, garbage refused) or ends with one line and a non-zero exit;
 * never a stack trace, an internal error, an unhandled rejection, or a wait past the stub timeout
 * (KDIVE_STUB_TIMEOUT_MS, 500 ms here) and --timeout.
 */
const vmlinux = writeToyVmlinux(scratchDir('kdive-lying-cli-'));
const ENV = { KDIVE_STUB_TIMEOUT_MS: '500' };
/** A bound on each kdive process: far above what it needs (start-up through tsx included), far below a hang. */
const HANG_MS = 60_000;
const SILENCE_AFTER = 12;

function assertNoCrash(r: CliResult): void {
  const all = r.stdout + r.stderr;
  assert.equal(r.signal, null, `kdive did not end within ${HANG_MS} ms:\n${all}`);
  assert.doesNotMatch(all, /^ {4}at /m, 'no stack trace');
  assert.doesNotMatch(all, /internal error|Unhandled|unhandledRejection/i);
}

async function withStub<T>(scenario: LieScenario, body: (port: number) => Promise<T>): Promise<T> {
  const stub = await FakeLyingRspStub.listen(scenario, { afterPackets: SILENCE_AFTER });
  try {
    return await body(stub.port);
  } finally {
    await stub.close();
  }
}

const REPL_SCRIPT = ['break add', 'continue', 'bt', 'info registers rip', 'x/4096xb 0xffffffff82000000', 'p init_task.pid', 'quit'].join('\n') + '\n';

/** What each scenario must show in the REPL's output (the rest: no crash, the REPL reached quit). */
const DEBUG_EXPECT: Record<LieScenario, RegExp> = {
  honest: /#1  0xffffffff81001085 in entry_asm/,
  'short-g': /did not report rip/,
  'long-g': /Breakpoint 1, add/,
  'wild-registers': /not a canonical address/,
  'garbage-frame-chain': /Backtrace stopped: return address 0x4141414141414141 .*cannot be code/,
  'memory-error-mid-read': /Cannot access memory at address 0xffffffff82000000/,
  'short-memory': /\$1 = 1/,
  'phantom-thread': /stop of thread 7f, which it says does not exist/,
  'unsolicited-reply': /Breakpoint 1, add/,
  silence: /no answer from the debug stub within 500 ms/,
  'hang-up-mid-read': /closed the connection/,
};

for (const scenario of LIE_SCENARIOS) {
  test(`kdive debug --attach, lying stub '${scenario}': the REPL goes on, the lie refused or named`, async () => {
    const r = await withStub(scenario, (port) => runKdive(['debug', '--attach', `127.0.0.1:${port}`, '--vmlinux', vmlinux], { env: ENV, input: REPL_SCRIPT, timeoutMs: HANG_MS }));
    assertNoCrash(r);
    assert.match(r.stdout + r.stderr, DEBUG_EXPECT[scenario]);
    // Garbage is never printed as a frame.
    assert.doesNotMatch(r.stdout, /#\d+ +0x(4141414141414141|0) in|#\d+ +0x7fffdeadbeef/);
    // Going on means the session ends when told to (quit) or with one line on stderr.
    assert.ok(r.code === 0 || r.stderr.trim().split('\n').filter((l) => l.startsWith('kdive:')).length === 1, `exit ${r.code}: ${r.stderr}`);
  });
}

/** `kdive run --attach`: exit 0 with the stop printed, or one line and non-zero. */
const RUN_EXPECT: Record<LieScenario, { code: 0 } | { code: 'non-zero'; line: RegExp }> = {
  honest: { code: 0 },
  'short-g': { code: 'non-zero', line: /did not report rip/ },
  'long-g': { code: 0 },
  'wild-registers': { code: 'non-zero', line: /not a canonical address/ },
  'garbage-frame-chain': { code: 0 },
  'memory-error-mid-read': { code: 0 },
  'short-memory': { code: 0 },
  'phantom-thread': { code: 'non-zero', line: /thread 7f, which it says does not exist/ },
  'unsolicited-reply': { code: 0 },
  silence: { code: 'non-zero', line: /no answer from the debug stub within 500 ms|the stub did not answer within 2 s/ },
  'hang-up-mid-read': { code: 0 },
};

for (const scenario of LIE_SCENARIOS) {
  test(`kdive run --attach --break add, lying stub '${scenario}': the stop printed and detached, or one line`, async () => {
    const r = await withStub(scenario, (port) => runKdive(['run', '--attach', `127.0.0.1:${port}`, '--vmlinux', vmlinux, '--break', 'add', '--timeout', '20'], { env: ENV, timeoutMs: HANG_MS }));
    assertNoCrash(r);
    const want = RUN_EXPECT[scenario];
    if (want.code === 0) {
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Breakpoint 1, add/);
      assert.match(r.stdout, /Detached from 127\.0\.0\.1:\d+; the kernel runs on/);
    } else {
      assert.notEqual(r.code, 0);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('kdive:'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, want.line);
    }
    assert.doesNotMatch(r.stdout, /#\d+ +0x(4141414141414141|0) in|#\d+ +0x7fffdeadbeef/);
  });
}
