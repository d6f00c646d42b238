import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TargetError, TargetTimeoutError } from '../target-error.js';
import { PacketDecoder, encodePacket } from './packet-codec.js';
import { GdbRemoteTarget } from './gdb-remote-target.js';
import { parseStopReply } from './stop-reply.js';

/**
 * A scripted stub on 127.0.0.1 that decodes what the client sends with the real decoder
 * (so binary X data arrives unescaped). `answer` returns the reply, or undefined for none.
 */
async function fakeStub(answer: (payload: string, stub: { send(p: string): void; received: string[] }) => string | undefined) {
  const received: string[] = [];
  let interrupts = 0;
  let sock: net.Socket | undefined;
  const stub = { send: (p: string) => sock?.write(encodePacket(p)), received };
  const server = net.createServer((s) => {
    sock = s;
    s.setNoDelay(true);
    const decoder = new PacketDecoder();
    s.on('data', (chunk: Buffer) => {
      for (const ev of decoder.feed(chunk)) {
        if (ev.type === 'interrupt') interrupts++;
        if (ev.type !== 'packet') continue;
        const payload = ev.payload.toString('latin1');
        received.push(payload);
        s.write('+');
        const reply = answer(payload, stub);
        if (reply !== undefined) stub.send(reply);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const socket = await new Promise<net.Socket>((r) => {
    const s = net.connect(port, '127.0.0.1', () => r(s));
    s.setNoDelay(true);
  });
  return {
    socket,
    received,
    interrupts: () => interrupts,
    send: stub.send,
    close: () => {
      sock?.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Waits until the stub has seen what the client wrote (a resume has no reply to wait for). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
}

const TARGET_XML = '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>i386:x86-64</architecture><xi:include href="core.xml"/></target>';
const CORE_XML = `<?xml version="1.0"?><feature name="org.gnu.gdb.i386.core">
  <reg name="rax" bitsize="64" type="int64" regnum="0"/>
  <reg name="rip" bitsize="64" type="code_ptr"/>
  <reg name='eflags' bitsize='32' type='i386_eflags' group='general'/>
</feature>`;

/** A QEMU-like stub with a 3-register target.xml served in 40-byte chunks. */
function qemuLike(opts: { g?: () => string; x?: string; supported?: string } = {}) {
  return (p: string): string | undefined => {
    if (p.startsWith('qSupported')) return opts.supported ?? 'PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+';
    const xfer = /^qXfer:features:read:([^:]+):([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (xfer) {
      const doc = xfer[1] === 'target.xml' ? TARGET_XML : xfer[1] === 'core.xml' ? CORE_XML : undefined;
      if (!doc) return 'E00';
      const off = parseInt(xfer[2]!, 16);
      const part = doc.slice(off, off + Math.min(40, parseInt(xfer[3]!, 16)));
      return (off + part.length >= doc.length ? 'l' : 'm') + part;
    }
    if (p === '?') return 'T05thread:01;';
    if (p === 'g') return opts.g?.() ?? `${'11'.repeat(8)}${'f0ff000000000000'}${'02000000'}`;
    if (p === 'p1') return 'f0ff000000000000';
    if (p.startsWith('p')) return 'E14';
    if (/^[Zz][0-4],/.test(p)) return 'OK';
    if (p.startsWith('X')) return opts.x ?? '';
    if (p.startsWith('M')) return 'OK';
    if (p === 'D') return 'OK';
    if (p.startsWith('vCont;s')) return 'T05thread:01;';
    if (p.startsWith('vCont;c')) return undefined;
    return '';
  };
}

test('target.xml is read in m/l chunks through its xi:include, offsets are cumulative, regnum resets the count', async () => {
  const stub = await fakeStub(qemuLike());
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'auto' });
  assert.equal(target.stubName, 'qemu');
  assert.deepEqual(
    target.registerLayout.map((r) => [r.name, r.regnum, r.bitSize, r.offset, r.type, r.group]),
    [['rax', 0, 64, 0, 'int64', undefined], ['rip', 1, 64, 8, 'code_ptr', undefined], ['eflags', 2, 32, 16, 'i386_eflags', 'general']],
  );
  // Several chunks were needed for each annex, each at the offset the previous one ended.
  const offsets = stub.received.filter((p) => p.includes(':core.xml:')).map((p) => /:([0-9a-f]+),/.exec(p)![1]);
  assert.deepEqual(offsets.map((o) => parseInt(o!, 16)), Array.from({ length: Math.ceil(CORE_XML.length / 40) }, (_, i) => i * 40));
  const regs = await target.readRegisters();
  assert.equal(regs.get('rax'), 0x1111111111111111n);
  assert.equal(regs.get('rip'), 0xfff0n);
  assert.equal(regs.get('eflags'), 2n);
  target.close();
  await stub.close();
});

test('a g reply longer than target.xml says: the described prefix is parsed, the surplus ignored, the description not guessed again', async () => {
  const stub = await fakeStub(qemuLike({ g: () => `${'22'.repeat(8)}${'3412000000000000'}${'46020000'}${'ab'.repeat(12)}` }));
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  const fetches = () => stub.received.filter((p) => p.startsWith('qXfer:features:read:target.xml:0,')).length;
  assert.equal(fetches(), 1);
  const regs = await target.readRegisters();
  assert.equal(regs.get('rip'), 0x1234n);
  assert.equal(regs.get('eflags'), 0x246n);
  assert.deepEqual(regs.names(), ['rax', 'rip', 'eflags']);
  await target.readRegisters('01');
  assert.equal(fetches(), 1, 'the description is what the stub said, once');
  target.close();
  await stub.close();
});

test('a g reply shorter than the layout: the prefix is parsed, missing registers come from p where the stub has them', async () => {
  const stub = await fakeStub(qemuLike({ g: () => '33'.repeat(8) }));
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  const regs = await target.readRegisters();
  assert.equal(regs.get('rax'), 0x3333333333333333n);
  assert.equal(regs.get('rip'), 0xfff0n, 'fetched with p1');
  assert.equal(regs.get('eflags'), undefined, 'p2 answered E14: unavailable, not an error');
  assert.ok(stub.received.includes('p1') && stub.received.includes('p2'));
  target.close();
  await stub.close();
});

test('detach removes every breakpoint and watchpoint still inserted, then sends D', async () => {
  const stub = await fakeStub(qemuLike());
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  await target.insertBreakpoint(0x1000n, 'software');
  await target.insertBreakpoint(0x2000n, 'hardware');
  await target.insertWatchpoint(0x3000n, 8, 'write');
  await target.insertWatchpoint(0x4000n, 4, 'access');
  await target.removeBreakpoint(0x1000n, 'software');
  stub.received.length = 0;
  await target.detach();
  assert.deepEqual(stub.received.slice(0, 3).sort(), ['z1,2000,1', 'z2,3000,8', 'z4,4000,4']);
  assert.equal(stub.received[3], 'D');
  assert.equal(stub.received.length, 4);
  await stub.close();
});

test('a stub in multiprocess mode (QEMU after a stock gdb) gets D;PID; a refused D throws and says the kernel is still halted; a point left in is reported', async () => {
  // As QEMU 7.2 does once any client negotiated multiprocess+: thread ids pPID.TID, plain D refused.
  const multi = (p: string) => (p === '?' ? 'T05thread:p01.01;' : p === 'D' ? 'E22' : p === 'D;1' ? 'OK' : qemuLike()(p));
  const stub = await fakeStub((p) => (p === 'z0,2000,1' ? 'E01' : multi(p)));
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  await target.insertBreakpoint(0x1000n, 'software');
  await target.insertBreakpoint(0x2000n, 'software');
  const result = await target.detach();
  assert.equal(stub.received.at(-1), 'D;1');
  assert.deepEqual(result.leftInserted, ["software breakpoint at 0x2000 (remove software breakpoint at 0x2000: the stub answered 'E01')"]);
  await stub.close();

  for (const answer of ['E22', '']) {
    const refusing = await fakeStub((p) => (p === 'D' ? answer : qemuLike()(p)));
    const t = await GdbRemoteTarget.connect(refusing.socket, { profile: 'qemu' });
    await assert.rejects(t.detach(), (e: unknown) => e instanceof TargetError && /the stub answered D with .*; the kernel is still halted/.test(e.message));
    assert.equal(await t.readMemory(0n, 0).then(() => 'connected', () => 'closed'), 'connected', 'a refused detach leaves the connection usable');
    t.close();
    await refusing.close();
  }
  const silent = await fakeStub((p) => (p === 'D' ? undefined : qemuLike()(p)));
  const t = await GdbRemoteTarget.connect(silent.socket, { profile: 'qemu' });
  await assert.rejects(t.detach(), /no answer to D .*the kernel may still be halted/);
  t.close();
  await silent.close();
});

test('memory writes probe X once; a stub without X gets M, one with X gets escaped binary', async () => {
  const data = Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x00, 0xff, 0x03, 0x2b]);
  for (const x of ['', 'OK']) {
    const stub = await fakeStub(qemuLike({ x }));
    const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
    await target.writeMemory(0x8000n, data);
    await target.writeMemory(0x9000n, data);
    const writes = stub.received.filter((p) => /^[XM]/.test(p));
    if (x === '') {
      assert.deepEqual(writes, ['X8000,0:', `M8000,8:${data.toString('hex')}`, `M9000,8:${data.toString('hex')}`]);
    } else {
      const bin = data.toString('latin1');
      assert.deepEqual(writes, ['X8000,0:', `X8000,8:${bin}`, `X9000,8:${bin}`]);
    }
    target.close();
    await stub.close();
  }
});

test('QEMU-like stubs: vCont step and continue, 0x03 interrupts, watchpoint and exit stops are told apart', async () => {
  const stub = await fakeStub(qemuLike());
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  const step = await target.step();
  assert.equal(stub.received.at(-1), 'vCont;s:01');
  assert.equal(step.reason, 'trap');
  await target.resume();
  assert.equal(target.running, true);
  const interrupted = target.interrupt();
  // The stub sees the raw byte, then announces the stop.
  await until(() => stub.interrupts() === 1);
  stub.send('T02thread:01;');
  assert.equal((await interrupted).reason, 'interrupt');
  assert.equal(target.running, false);
  await target.resume();
  stub.send('T05thread:01;watch:ffff888000001000;');
  const watch = await target.waitForStop();
  assert.deepEqual([watch.reason, watch.watch], ['watchpoint', { kind: 'watch', address: 0xffff888000001000n }]);
  stub.send('W00');
  assert.deepEqual([(await target.waitForStop()).reason], ['exited']);
  assert.ok(stub.received.includes('vCont;c'));
  target.close();
  await stub.close();
});

test('monitor collects O packets up to OK; console text after the command is not added', async () => {
  const stub = await fakeStub((p, s) => {
    if (p.startsWith('qRcmd,') && p !== `qRcmd,${Buffer.from('info kvm').toString('hex')}`) {
      assert.equal(Buffer.from(p.slice(6), 'hex').toString(), 'info status');
      s.send(`O${Buffer.from('VM status: ').toString('hex')}`);
      s.send(`O${Buffer.from('paused\n').toString('hex')}`);
      return 'OK';
    }
    return qemuLike()(p);
  });
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  assert.equal(await target.monitor('info status'), 'VM status: paused\n');
  assert.equal(await target.monitor('info status'), 'VM status: paused\n');
  target.close();
  await stub.close();
});

/** kgdb: empty qSupported, S05 for `?`, thread lists ending with an empty reply. */
function kgdbLike(p: string): string | undefined {
  if (p === '?') return 'S05';
  if (p === 'g') return '00'.repeat(156);
  if (p === 'qfThreadInfo') return 'mfffffffe,01';
  if (p === 'qsThreadInfo') return '';
  if (p === 'qThreadExtraInfo,fffffffe') return Buffer.from('shadowCPU0').toString('hex');
  if (p === 'qThreadExtraInfo,01') return Buffer.from('init\0\0\0\0\0\0\0\0\0\0\0\0').toString('hex');
  if (p === 's') return 'T05thread:01;';
  if (p === 'c') return undefined;
  return '';
}

test('kgdb is detected from an empty qSupported: built-in 156-byte layout, c/s, threads ending with an empty reply', async () => {
  const stub = await fakeStub(kgdbLike);
  const target = await GdbRemoteTarget.connect(stub.socket);
  assert.equal(target.stubName, 'kgdb');
  assert.equal(target.registerLayout.length, 22);
  assert.equal(target.registerLayout.at(-1)!.offset + 4, 156);
  assert.ok(!stub.received.some((p) => p.startsWith('qXfer')));
  assert.deepEqual(await target.threads(), [{ id: 'fffffffe', description: 'shadowCPU0' }, { id: '01', description: 'init' }]);
  assert.equal((await target.step()).reason, 'trap');
  assert.equal(stub.received.at(-1), 's');
  await target.resume();
  await until(() => stub.received.at(-1) === 'c');
  // No break-in configured: a clear error, not a hang.
  await assert.rejects(target.interrupt(), (e: Error) => e instanceof TargetError && /cannot be interrupted/.test(e.message));
  assert.equal(stub.interrupts(), 0);
  target.close();
  await stub.close();
});

test('kgdb interrupt goes through the configured break-in; W03 (power-off) is an exit', async () => {
  let breakIns = 0;
  let stubRef: Awaited<ReturnType<typeof fakeStub>> | undefined;
  const stub = (stubRef = await fakeStub(kgdbLike));
  const target = await GdbRemoteTarget.connect(stub.socket, {
    profile: 'kgdb',
    breakIn: async () => {
      breakIns++;
      stubRef!.send('T02thread:fffffffe;');
    },
  });
  await target.resume();
  const stop = await target.interrupt();
  assert.deepEqual([breakIns, stop.reason, stop.threadId], [1, 'interrupt', 'fffffffe']);
  await target.resume();
  stub.send('W03');
  const exit = await target.waitForStop();
  assert.deepEqual([exit.reason, exit.exitCode], ['exited', 3]);
  target.close();
  await stub.close();
});

test('stop replies map to reasons', () => {
  assert.deepEqual(parseStopReply('T05thread:p01.02;'), { reason: 'trap', signal: 5, threadId: 'p01.02', raw: 'T05thread:p01.02;' });
  assert.equal(parseStopReply('T02thread:01;').reason, 'interrupt');
  assert.equal(parseStopReply('S05').reason, 'trap');
  assert.equal(parseStopReply('S0b').reason, 'signal');
  assert.deepEqual(parseStopReply('T05thread:01;rwatch:1000;').watch, { kind: 'rwatch', address: 0x1000n });
  assert.deepEqual(parseStopReply('T05thread:01;awatch:ffffffff81000000;').watch, { kind: 'awatch', address: 0xffffffff81000000n });
  assert.deepEqual([parseStopReply('W03').reason, parseStopReply('W03').exitCode], ['exited', 3]);
  assert.deepEqual([parseStopReply('X09').reason, parseStopReply('X09').signal], ['terminated', 9]);
});

test('a g reply with xx (unavailable) bytes or an odd digit spoils only the registers it touches', async () => {
  const stub = await fakeStub(qemuLike({ g: () => `${'44'.repeat(8)}${'xx'.repeat(8)}${'0200000'}` }));
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu' });
  const regs = await target.readRegisters();
  assert.equal(regs.get('rax'), 0x4444444444444444n);
  assert.equal(regs.get('rip'), 0xfff0n, 'unavailable in g, fetched with p1');
  assert.equal(regs.get('eflags'), undefined, 'cut short, and p2 fails');
  target.close();
  await stub.close();
});

test('interrupting a target that does not stop fails with a timeout error, not a hang', async () => {
  const stub = await fakeStub(qemuLike());
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'qemu', timeoutMs: 300 });
  await assert.rejects(target.interrupt(), (e: Error) => e instanceof TargetTimeoutError && /interrupt/.test(e.message));
  // The connection is still usable afterwards.
  assert.equal((await target.readRegisters()).get('rip'), 0xfff0n);
  target.close();
  await stub.close();
});

test('capabilities come from the stub, not its name: vCPU threads, and reverse execution only when qSupported offers both ReverseContinue+ and ReverseStep+', async () => {
  for (const [supported, reverse] of [
    ['PacketSize=1000;qXfer:features:read+;vContSupported+', false],
    ['PacketSize=1000;qXfer:features:read+;vContSupported+;ReverseStep+;ReverseContinue+', true],
    ['PacketSize=1000;qXfer:features:read+;ReverseContinue+', false],
  ] as const) {
    const stub = await fakeStub(qemuLike({ supported }));
    const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'auto' });
    assert.equal(target.reverseExecution, reverse, supported);
    assert.equal(target.threadsAreCpus, true);
    target.close();
    await stub.close();
  }
});
