import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdiveError } from '../../src/errors.js';
import { attachSession } from '../../src/session/open-session.js';
import type { Session } from '../../src/session/session.js';
import { ADD, DATA, FakeLyingRspStub, WILD_RIP, writeToyVmlinux, type LieScenario, type LyingStubOptions } from '../support/lying-rsp-stub.js';
import { scratchDir } from '../support/own-resources.js';

/**
 * The library path (attachSession) against the FAKE lying stub (test/support/lying-rsp-stub.ts):
 * each lie either leaves the session going with the garbage refused or marked, or ends what was
 * asked with a KdiveError naming the problem; never another error, never a wait past the timeout.
 */
const TIMEOUT_MS = 500;
const vmlinux = writeToyVmlinux(scratchDir('kdive-lying-session-'));

async function withLyingStub(scenario: LieScenario, opts: LyingStubOptions, body: (session: Session, stub: FakeLyingRspStub) => Promise<void>): Promise<void> {
  const stub = await FakeLyingRspStub.listen(scenario, opts);
  try {
    const session = await attachSession({ port: stub.port, vmlinux, timeoutMs: TIMEOUT_MS });
    try {
      await body(session, stub);
    } finally {
      // Closing a session whose stub lies may fail, but only as a KdiveError (one line).
      await session.close().catch((err: unknown) => assert.ok(err instanceof KdiveError, String(err)));
    }
  } finally {
    await stub.close();
  }
}

/** The KdiveError `work` fails with (any other error fails the test). */
async function kdiveError(work: Promise<unknown>): Promise<string> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof KdiveError, `expected a KdiveError, got ${err instanceof Error ? err.stack : String(err)}`);
  return err.message;
}

async function hitAdd(session: Session) {
  await session.addBreakpoint('add');
  return session.resume();
}

test('honest (the control): the breakpoint at add, its backtrace, memory and values', async () => {
  await withLyingStub('honest', {}, async (session) => {
    const event = await hitAdd(session);
    assert.equal(event.kind, 'breakpoint');
    const bt = await session.backtrace();
    assert.deepEqual(bt.frames.map((f) => f.function), ['add', 'entry_asm']);
    assert.equal((await session.readMemory(DATA, 4096)).length, 4096);
  });
});

test('short g: the missing pc is refused in one line, not shown as a stop at 0x0', async () => {
  await withLyingStub('short-g', {}, async (session) => {
    assert.match(await kdiveError(hitAdd(session)), /did not report rip/);
    assert.match(await kdiveError(session.backtrace()), /did not report rip/);
    assert.equal((await session.registers()).get('rax') !== undefined, true, 'what the stub did send is still there');
  });
});

test('long g: the surplus is ignored and the session goes on', async () => {
  await withLyingStub('long-g', {}, async (session) => {
    const event = await hitAdd(session);
    assert.equal(event.kind === 'breakpoint' && event.pc, ADD);
  });
});

test('wild registers: a non-canonical rip is refused, at the stop and in a backtrace', async () => {
  await withLyingStub('wild-registers', {}, async (session) => {
    assert.match(await kdiveError(hitAdd(session)), new RegExp(`0x${WILD_RIP.toString(16)}.*not a canonical address`));
    assert.match(await kdiveError(session.backtrace()), /not a canonical address/);
  });
});

test('garbage frame chain: the walk stops with a note at the first return address that cannot be code', async () => {
  await withLyingStub('garbage-frame-chain', {}, async (session) => {
    await hitAdd(session);
    const bt = await session.backtrace();
    assert.deepEqual(bt.frames.map((f) => f.function), ['add', 'entry_asm']);
    assert.equal(bt.end.reason, 'error');
    assert.match(bt.end.detail ?? '', /return address 0x4141414141414141 .*cannot be code/);
  });
});

test('a memory error in the middle of a multi-packet read fails that read; the session goes on', async () => {
  await withLyingStub('memory-error-mid-read', {}, async (session) => {
    assert.match(await kdiveError(session.readMemory(DATA, 4096)), /cannot read .* at 0xffffffff820007f0 \(stub error E14\)/);
    assert.equal((await session.readMemory(DATA, 8)).length, 8);
    assert.equal((await hitAdd(session)).kind, 'breakpoint');
  });
});

test('short memory replies: the rest is read again, the bytes are right', async () => {
  await withLyingStub('short-memory', {}, async (session) => {
    const bytes = await session.readMemory(DATA, 64);
    assert.equal(bytes.readInt32LE(0), 1, 'init_task.pid');
    assert.equal(bytes.toString('latin1', 4, 13), 'swapper/0');
  });
});

test('a stop naming a thread that does not exist is refused; the session goes on', async () => {
  await withLyingStub('phantom-thread', {}, async (session) => {
    assert.match(await kdiveError(hitAdd(session)), /stop of thread 7f, which it says does not exist/);
    assert.equal(session.isRunning, false);
    assert.equal((await session.readMemory(DATA, 4)).readInt32LE(0), 1);
  });
});

test('an unsolicited OK and a stray stop reply: kdive gets back in step and the next continue is a real stop', async () => {
  await withLyingStub('unsolicited-reply', {}, async (session, stub) => {
    const regs = await session.registers();
    assert.equal(regs.get('rip'), stub.machine!.reg('rip'), 'the registers are the real ones, not the stray OK');
    const event = await hitAdd(session);
    assert.equal(event.kind === 'breakpoint' && event.pc, ADD, 'the stray stop was not taken for this one');
  });
});

test('silence mid-conversation: each request fails with the timeout, in one line', async () => {
  await withLyingStub('silence', { afterPackets: 12 }, async (session) => {
    assert.match(await kdiveError(session.readMemory(DATA, 4096).then(() => session.readMemory(DATA, 4096)).then(() => session.registers())), /no answer from the debug stub within 500 ms/);
    assert.match(await kdiveError(session.backtrace()), /no answer from the debug stub/);
  });
});

test('silence during attach: attach fails with the timeout, in one line', async () => {
  const stub = await FakeLyingRspStub.listen('silence', { afterPackets: 2 });
  try {
    assert.match(await kdiveError(attachSession({ port: stub.port, vmlinux, timeoutMs: TIMEOUT_MS })), /no answer from the debug stub within 500 ms/);
  } finally {
    await stub.close();
  }
});

test('a hang-up in the middle of a read: the read, and what follows, say the connection closed', async () => {
  await withLyingStub('hang-up-mid-read', {}, async (session) => {
    assert.match(await kdiveError(session.readMemory(DATA, 4096)), /closed the connection/);
    assert.match(await kdiveError(hitAdd(session)), /closed the connection/);
  });
});
