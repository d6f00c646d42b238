import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLyingRspStub, LIE_SCENARIOS, writeToyVmlinux, type LieScenario } from '../support/lying-rsp-stub.js';
import { InProcessAdapter, type DapMessage } from '../support/in-process-dap.js';
import { scratchDir } from '../support/own-resources.js';

/**
 * The DAP adapter against the FAKE lying stub (test/support/lying-rsp-stub.ts), driven as an
 * editor drives it: attach, a function breakpoint on `add`, configurationDone, then the requests
 * an editor sends at a stop (threads, stackTrace, scopes, variables, evaluate, readMemory) and
 * disconnect. Whatever the stub says, every request gets a response; a failure is one line; the
 * stack never shows a frame made from garbage; no stack trace or internal error reaches the editor.
 */
const vmlinux = writeToyVmlinux(scratchDir('kdive-lying-dap-'));
// Attach reads the stub timeout from here (attachSession's default): 500 ms keeps silence short.
process.env.KDIVE_STUB_TIMEOUT_MS = '500';
const GARBAGE_FRAME = /^0x(0|4141414141414141|7fffdeadbeef)\b|\?\?/;

type Body = { threads?: { id: number }[]; stackFrames?: { name: string; instructionPointerReference?: string }[]; scopes?: { variablesReference: number }[] };

/** Sends a request; its response: a success, or a failure in one line. No answer fails the test. */
async function ask(dap: InProcessAdapter, command: string, args: object = {}): Promise<DapMessage> {
  const messages = await dap.request(command, args);
  const response = messages.find((m) => m.type === 'response' && m.command === command)!;
  if (!response.success) assert.ok(response.message && !response.message.includes('\n'), `${command}: ${JSON.stringify(response.message)}`);
  return response;
}

/** The whole conversation of one scenario; what the adapter said, for the scenario's own checks. */
async function converse(scenario: LieScenario): Promise<DapMessage[]> {
  const stub = await FakeLyingRspStub.listen(scenario, { afterPackets: 12 });
  const dap = new InProcessAdapter();
  try {
    await ask(dap, 'initialize', { adapterID: 'kdive', linesStartAt1: true, columnsStartAt1: true });
    const attached = await ask(dap, 'attach', { port: stub.port, vmlinux });
    if (attached.success) {
      await ask(dap, 'setFunctionBreakpoints', { breakpoints: [{ name: 'add' }] });
      // The stop, or the end of the session (a stop that cannot be believed ends it, in one line).
      const after = await dap.request('configurationDone', {}, ['stopped', 'terminated']);
      if (after.some((m) => m.event === 'stopped')) {
        const threads = ((await ask(dap, 'threads')).body as Body | undefined)?.threads ?? [];
        for (const t of threads.slice(0, 2)) {
          const stack = (await ask(dap, 'stackTrace', { threadId: t.id })).body as Body | undefined;
          for (const f of stack?.stackFrames ?? []) assert.doesNotMatch(f.name, GARBAGE_FRAME, `a frame from garbage: ${JSON.stringify(f)}`);
          const frameId = (stack?.stackFrames?.[0] as { id?: number } | undefined)?.id;
          if (frameId === undefined) continue;
          const scopes = (await ask(dap, 'scopes', { frameId })).body as Body | undefined;
          for (const s of scopes?.scopes ?? []) await ask(dap, 'variables', { variablesReference: s.variablesReference });
          await ask(dap, 'evaluate', { expression: 'init_task.pid', frameId, context: 'repl' });
        }
        await ask(dap, 'readMemory', { memoryReference: '0xffffffff82000000', count: 4096 });
      }
    }
    await ask(dap, 'disconnect', { terminateDebuggee: false });
  } finally {
    await stub.close();
  }
  return dap.received;
}

/** What each scenario's conversation must show, besides the checks every one gets. */
const EXPECT: Record<LieScenario, RegExp> = {
  honest: /"name":"add"/,
  'short-g': /did not report rip/,
  'long-g': /"name":"add"/,
  'wild-registers': /not a canonical address/,
  'garbage-frame-chain': /"name":"entry_asm"/,
  'memory-error-mid-read': /"name":"add"/,
  'short-memory': /"name":"add"/,
  'phantom-thread': /does not exist/,
  'unsolicited-reply': /"name":"add"/,
  silence: /no answer from the debug stub within 500 ms/,
  'hang-up-mid-read': /closed the connection|"name":"add"/,
};

for (const scenario of LIE_SCENARIOS) {
  test(`DAP, lying stub '${scenario}': every request answered, failures in one line, no frame from garbage`, async () => {
    const said = await converse(scenario);
    const text = JSON.stringify(said);
    assert.doesNotMatch(text, /internal error|Unhandled|\\n {4}at /, 'no internal error or stack trace reaches the editor');
    assert.match(text, EXPECT[scenario]);
  });
}
