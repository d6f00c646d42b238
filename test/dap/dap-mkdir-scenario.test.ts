import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

const fromSource = import.meta.url.endsWith('.ts');
const DAP_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), `../../src/dap/dap-main.${fromSource ? 'ts' : 'js'}`);

/** Every wait has its own limit: DebugClient's socket mode has none. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
}

test('DAP: breakpoint on the first line of do_mkdirat, stopped, stack with source, variables expand, evaluate current->comm, REPL commands in the console, continue to terminated', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const dc = new DebugClient(process.execPath, DAP_MAIN, 'kdive', fromSource ? { env: { ...process.env, NODE_OPTIONS: '--import tsx' } } : undefined);
  dc.defaultTimeout = 240_000;
  const guestOutput: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => {
    if (e.body.category === 'stdout') guestOutput.push(e.body.output);
  });
  await dc.start();
  try {
    // 1 >> initialize
    const init = await within(dc.initializeRequest(), 30_000, 'initialize');
    assert.equal(init.body?.supportsConfigurationDoneRequest, true);
    // 2 >> launch, << initialized
    const initialized = dc.waitForEvent('initialized', 240_000);
    await within(dc.launchRequest({ guest: 'mkdir /tmp/test' } as DebugProtocol.LaunchRequestArguments), 240_000, 'launch');
    await within(initialized, 240_000, 'initialized');
    // 3 >> setBreakpoints fs/namei.c:4169 (do_mkdirat's first line)
    const bps = await within(dc.setBreakpointsRequest({ source: { path: 'fs/namei.c' }, breakpoints: [{ line: 4169 }] }), 60_000, 'setBreakpoints');
    assert.equal(bps.body.breakpoints[0]?.verified, true);
    // 4 >> configurationDone, << stopped
    const stopped = dc.waitForEvent('stopped', 240_000);
    await within(dc.configurationDoneRequest(), 30_000, 'configurationDone');
    const ev = (await within(stopped, 240_000, 'stopped')) as DebugProtocol.StoppedEvent;
    assert.equal(ev.body.reason, 'breakpoint');
    // 5 >> stackTrace
    const st = await within(dc.stackTraceRequest({ threadId: ev.body.threadId! }), 60_000, 'stackTrace');
    const top = st.body.stackFrames[0]!;
    assert.equal(top.name, 'do_mkdirat');
    assert.equal(top.line, 4169);
    assert.match(top.source?.path ?? '', /fs\/namei\.c$/);
    assert.ok(st.body.stackFrames.some((f) => f.name === 'entry_SYSCALL_64'));
    // 6 >> scopes, variables: `name` is an argument and expands to struct filename's members
    const scopes = await within(dc.scopesRequest({ frameId: top.id }), 30_000, 'scopes');
    const argsScope = scopes.body.scopes.find((s) => s.name === 'Arguments')!;
    const vars = await within(dc.variablesRequest({ variablesReference: argsScope.variablesReference }), 60_000, 'variables');
    const name = vars.body.variables.find((v) => v.name === 'name');
    assert.ok(name, JSON.stringify(vars.body.variables));
    assert.ok(name.variablesReference > 0, 'name expands');
    const pointee = await within(dc.variablesRequest({ variablesReference: name.variablesReference }), 60_000, 'expand name');
    const struct = pointee.body.variables[0]!;
    const members = await within(dc.variablesRequest({ variablesReference: struct.variablesReference }), 60_000, 'expand *name');
    assert.match(members.body.variables.find((v) => v.name === 'name')?.value ?? '', /"\/tmp\/test"$/);
    // 7 >> evaluate current->comm
    const comm = await within(dc.evaluateRequest({ expression: 'current->comm', frameId: top.id, context: 'repl' }), 60_000, 'evaluate');
    assert.match(comm.body.result, /^"mkdir/);
    // 7b >> REPL commands in the debug console: by name when not an expression, or -exec LINE
    const bt = await within(dc.evaluateRequest({ expression: 'bt', frameId: top.id, context: 'repl' }), 60_000, 'console bt');
    const btLines = bt.body.result.split('\n');
    assert.match(btLines[0]!, /^#0 .*do_mkdirat/, bt.body.result);
    assert.ok(btLines.some((l) => /entry_SYSCALL_64/.test(l)), bt.body.result);
    const words = await within(dc.evaluateRequest({ expression: 'x/2gx $sp', frameId: top.id, context: 'repl' }), 60_000, 'console x');
    const sp = await within(dc.evaluateRequest({ expression: '$sp', frameId: top.id }), 60_000, 'evaluate $sp');
    const spHex = /0x[0-9a-f]+/.exec(sp.body.result)![0];
    assert.match(words.body.result, new RegExp(`^${spHex}.*:\\s+0x[0-9a-f]{16}\\s+0x[0-9a-f]{16}$`), words.body.result);
    const rip = await within(dc.evaluateRequest({ expression: '-exec info registers rip', frameId: top.id, context: 'repl' }), 60_000, 'console -exec');
    assert.match(rip.body.result, /^rip\s+(0x[0-9a-f]+)\s+\1 <do_mkdirat(\+\d+)?>$/, rip.body.result);
    await assert.rejects(within(dc.evaluateRequest({ expression: '-exec continue', frameId: top.id, context: 'repl' }), 30_000, 'console continue'), /editor's/);
    await assert.rejects(within(dc.evaluateRequest({ expression: 'no_such_name_xyz', frameId: top.id, context: 'repl' }), 30_000, 'console unknown'), /no_such_name_xyz/);
    // Bad input: an unknown request and a malformed one get error responses; the session goes on.
    await assert.rejects(within(dc.customRequest('noSuchRequest'), 30_000, 'unknown request'));
    await assert.rejects(within(dc.setBreakpointsRequest({ source: {} } as DebugProtocol.SetBreakpointsArguments), 30_000, 'malformed setBreakpoints'));
    await assert.rejects(within(dc.evaluateRequest({ expression: 'current->', frameId: top.id }), 30_000, 'bad expression'));
    const again = await within(dc.evaluateRequest({ expression: 'dfd', frameId: top.id }), 30_000, 'evaluate after errors');
    assert.equal(again.body.result, '-100');
    // 8 >> continue, << terminated (the guest powers off)
    const terminated = dc.waitForEvent('terminated', 240_000);
    await within(dc.setBreakpointsRequest({ source: { path: 'fs/namei.c' }, breakpoints: [] }), 30_000, 'clear breakpoints');
    await within(dc.continueRequest({ threadId: ev.body.threadId! }), 30_000, 'continue');
    await within(terminated, 240_000, 'terminated');
    // The guest console goes out by line, not in the serial port's fragments of a few bytes.
    const text = guestOutput.join('');
    assert.match(text, /Linux version 6\.1/);
    const lineCount = text.split('\n').length;
    assert.ok(guestOutput.length <= lineCount, `${guestOutput.length} output events for ${lineCount} lines`);
    assert.ok(guestOutput.slice(0, -1).every((o) => o.endsWith('\n') || /[#$] $/.test(o)), 'every event but a prompt ends a line');
  } finally {
    await within(dc.stop(), 60_000, 'stop').catch(() => undefined);
  }
  for (let i = 0; i < 50 && newQemuPids(before).length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left');
});
