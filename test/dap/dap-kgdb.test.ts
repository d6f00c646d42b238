import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getKgdbKernelSpec } from '../support/kgdb-kernel-fixture.js';

const fromSource = import.meta.url.endsWith('.ts');
const DAP_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), `../../src/dap/dap-main.${fromSource ? 'ts' : 'js'}`);

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
}

test('DAP over kgdb (launch transport kgdb, through openSession): a click on do_mkdirat\'s declaration line is verified at the next line with code, stops there, the stack reaches entry_SYSCALL_64', async () => {
  const kernel = await getKgdbKernelSpec();
  const before = qemuPids();
  const dc = new DebugClient(process.execPath, DAP_MAIN, 'kdive', fromSource ? { env: { ...process.env, NODE_OPTIONS: '--import tsx' } } : undefined);
  dc.defaultTimeout = 240_000;
  await dc.start();
  try {
    // 1 >> initialize
    await within(dc.initializeRequest(), 30_000, 'initialize');
    // 2 >> launch { transport: kgdb }, << initialized
    const initialized = dc.waitForEvent('initialized', 300_000);
    await within(dc.launchRequest({ kernel, transport: 'kgdb', guest: 'mkdir /tmp/test' } as DebugProtocol.LaunchRequestArguments), 300_000, 'launch');
    await within(initialized, 300_000, 'initialized');
    // 3 >> setBreakpoints fs/namei.c:4168 (`int do_mkdirat(...)`, no code): verified at 4169, as gdb moves it
    const bps = await within(dc.setBreakpointsRequest({ source: { path: 'fs/namei.c' }, breakpoints: [{ line: 4168 }] }), 60_000, 'setBreakpoints');
    assert.equal(bps.body.breakpoints[0]?.verified, true, JSON.stringify(bps.body));
    assert.equal(bps.body.breakpoints[0]?.line, 4169);
    // 4 >> configurationDone, << stopped
    const stopped = dc.waitForEvent('stopped', 300_000);
    await within(dc.configurationDoneRequest(), 30_000, 'configurationDone');
    const ev = (await within(stopped, 300_000, 'stopped')) as DebugProtocol.StoppedEvent;
    assert.equal(ev.body.reason, 'breakpoint');
    // 5 >> stackTrace
    const st = await within(dc.stackTraceRequest({ threadId: ev.body.threadId! }), 60_000, 'stackTrace');
    assert.equal(st.body.stackFrames[0]?.name, 'do_mkdirat');
    assert.equal(st.body.stackFrames[0]?.line, 4169);
    assert.ok(st.body.stackFrames.some((f) => f.name === 'entry_SYSCALL_64'), JSON.stringify(st.body.stackFrames.map((f) => f.name)));
    // 6 >> disconnect: the VM kdive booted ends
    await within(dc.disconnectRequest({ terminateDebuggee: true }), 60_000, 'disconnect');
  } finally {
    await dc.stop();
  }
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left');
});
