import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InProcessAdapter, type DapMessage as Message } from '../support/in-process-dap.js';
import { serveToyKernelStub } from '../support/toy-kernel-stub.js';
import { ADD } from '../support/toy-kernel.js';

/**
 * The adapter's messages for one debugging session, checked against a golden transcript
 * (test/unit/golden/dap-transcript.json; KDIVE_UPDATE_GOLDEN=1 rewrites it): attach to a FAKE
 * QEMU gdbstub (test/support/fake-rsp-stub.ts) running the toy kernel, a function breakpoint on
 * `add`, continue, the stop, threads, the stack with its source, scopes, variables, an evaluate,
 * a bad request, disconnect. Numbered as delve's DAP tests number their exchanges.
 */
// In the source tree whether the test runs from there or from dist/ (npm test).
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.ts') ? '../..' : '../../..');
const GOLDEN = path.join(REPO, 'test', 'unit', 'golden', 'dap-transcript.json');

/** What may differ between runs (ports, temporary paths, the adapter's own message numbers) made constant. */
function normalise(messages: Message[], dir: string, port: number): unknown[] {
  return messages
    // The guest's console (category stdout) is the fake stub's business, not the adapter's.
    .filter((m) => !(m.type === 'event' && m.event === 'output' && (m.body as { category?: string }).category === 'stdout'))
    .map((m) => JSON.parse(JSON.stringify({ ...m, seq: undefined }).split(dir).join('<dir>').split(String(port)).join('<port>')));
}

test('DAP: the adapter answers a whole session over a fake stub exactly as the golden transcript says', async () => {
  // CPU 0 runs nops up to `add`, with a return address into entry_asm on its stack.
  const toy = await serveToyKernelStub();
  const { vmlinux, port } = toy;
  const dir = path.dirname(vmlinux);
  const dap = new InProcessAdapter();
  const transcript: { exchange: string; messages: unknown[] }[] = [];
  const step = async (exchange: string, command: string, args: object = {}, thenEvent?: string) => {
    transcript.push({ exchange, messages: normalise(await dap.request(command, args, thenEvent), dir, port) });
  };
  try {
    await step('1 >> initialize', 'initialize', { adapterID: 'kdive', linesStartAt1: true, columnsStartAt1: true });
    await step('2 >> attach, << initialized', 'attach', { port, vmlinux }, 'initialized');
    await step('3 >> setFunctionBreakpoints add', 'setFunctionBreakpoints', { breakpoints: [{ name: 'add' }] });
    await step('4 >> setBreakpoints main.c:11 (a line of add)', 'setBreakpoints', { source: { path: 'main.c' }, breakpoints: [{ line: 11 }, { line: 999 }] });
    await step('5 >> configurationDone, << stopped', 'configurationDone', {}, 'stopped');
    await step('6 >> threads', 'threads');
    await step('7 >> stackTrace', 'stackTrace', { threadId: 1 });
    await step('8 >> scopes', 'scopes', { frameId: 1 });
    await step('9 >> evaluate counter', 'evaluate', { expression: 'counter', frameId: 1, context: 'watch' });
    await step('10 >> evaluate init_task.comm', 'evaluate', { expression: 'init_task.comm', frameId: 1, context: 'hover' });
    await step('11 >> evaluate a missing name', 'evaluate', { expression: 'no_such_thing', frameId: 1, context: 'watch' });
    await step('12 >> an unknown request', 'noSuchRequest');
    await step('13 >> disconnect', 'disconnect', { terminateDebuggee: false });
  } finally {
    await toy.close();
  }
  // The stop is at add's address, as the fake stub ran it.
  assert.ok(JSON.stringify(transcript).includes(`0x${ADD.toString(16)}`), 'the stack names add at its address');
  const text = `${JSON.stringify(transcript, null, 1)}\n`;
  if (process.env.KDIVE_UPDATE_GOLDEN || !existsSync(GOLDEN)) {
    writeFileSync(GOLDEN, text);
    if (!process.env.KDIVE_UPDATE_GOLDEN) assert.fail(`${GOLDEN} did not exist: written; check it and commit it`);
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(GOLDEN, 'utf8')));
});
