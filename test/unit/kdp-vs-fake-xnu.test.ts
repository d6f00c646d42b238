/**
 * KdpTarget against a FAKE XNU kernel debugger (test/support/fake-xnu-kdp-stub.ts): no XNU kernel
 * runs here, so the fake stands in, speaking KDP as PROTOCOLS.md §3 lays it out byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { KdpTarget } from '../../src/target/kdp/kdp-target.js';
import {
  KdpRequest, connectBody, encodeExceptionBody, encodeKdpPacket, exceptionAck, readMem64Body, readRegsBody,
} from '../../src/target/kdp/kdp-packet.js';
import { FakeXnuKdpStub, fakeXnuLoopText } from '../support/fake-xnu-kdp-stub.js';

const BASE = 0xffffff8000200000n;
const FUNC = BASE + 0x10n;
const HLT = BASE + 0x40n;

function kernelText(): Buffer {
  const text = fakeXnuLoopText(0x2000);
  text[0x40] = 0xf4; // hlt
  return text;
}

async function withStub(fn: (stub: FakeXnuKdpStub, target: KdpTarget, log: string[]) => Promise<void>, opts: { breakpointsDisabled?: boolean; rip?: bigint } = {}): Promise<void> {
  const stub = await FakeXnuKdpStub.start({ memory: [{ base: BASE, bytes: kernelText() }], rip: BASE, registers: { rdi: 0x1111n, rsi: 0x2222n, rsp: 0xffffff8000ffe000n }, ...opts });
  const log: string[] = [];
  const target = await KdpTarget.connect({ port: stub.port, timeoutMs: 150, stepTimeoutMs: 500, log: (l) => log.push(l) });
  try {
    await fn(stub, target, log);
  } finally {
    target.close();
    stub.close();
  }
}

const hex = (b: Buffer) => b.toString('hex');

test('KDP packets are the bytes PROTOCOLS.md gives for CONNECT, READMEM64, READREGS, EXCEPTION and its ack', () => {
  assert.equal(hex(encodeKdpPacket({ request: KdpRequest.CONNECT, isReply: false, seq: 0, key: 0 }, connectBody(0xc000, 0xc000, 'Greetings'))),
    '00001600000000' + '00' + 'c000c000' + Buffer.from('Greetings\0').toString('hex'));
  assert.equal(hex(encodeKdpPacket({ request: KdpRequest.READMEM64, isReply: false, seq: 5, key: 0 }, readMem64Body(0xffffff8000200000n, 0x40))),
    '1405140000000000' + '00002000' + '80ffffff' + '40000000');
  assert.equal(hex(encodeKdpPacket({ request: KdpRequest.READREGS, isReply: false, seq: 6, key: 0 }, readRegsBody(0, 4))),
    '0706100000000000' + '00000000' + '04000000');
  const exception = encodeKdpPacket({ request: KdpRequest.EXCEPTION, isReply: false, seq: 0, key: 0 }, encodeExceptionBody([{ cpu: 0, exception: 6, code: 3, subcode: 0 }]));
  assert.equal(hex(exception), '0d001c0000000000' + '01000000' + '00000000' + '06000000' + '03000000' + '00000000');
  assert.equal(hex(exceptionAck(exception)), '8d001c0000000000');
});

test('connect follows LLDB\'s sequence: REATTACH and CONNECT with seq 0 from our port, then VERSION, HOSTINFO, KERNELVERSION, MAXBYTES', async () => {
  await withStub(async (stub, target) => {
    assert.deepEqual(stub.requests.map((r) => [r.request, r.seq]), [[0x12, 0], [0x00, 0], [0x03, 1], [0x02, 2], [0x18, 3], [0x04, 4]]);
    assert.equal(stub.greeting, 'kdive here');
    assert.ok(stub.replyPort! > 0 && stub.replyPort === stub.exceptionPort);
    assert.equal(target.info.version, 12);
    assert.equal(target.info.cpuType, 0x01000007);
    assert.equal(target.info.maxBytes, 1024);
    assert.equal(target.info.breakpoints, true);
    assert.equal(target.info.loadAddress, 0xffffff8000200000n);
    assert.equal(target.info.uuid, '00000000-1111-2222-3333-444444444444');
    assert.match(target.info.kernelVersion, /^Darwin Kernel Version 20\.6\.0/);
    assert.match(await target.monitor('version'), /root:xnu-7195/);
  });
});

test('memory: reads in 1024-byte READMEM64s, a partial read names the first inaccessible byte, writes land', async () => {
  await withStub(async (stub, target) => {
    const before = stub.requests.length;
    const got = await target.readMemory(BASE + 0x100n, 3000);
    assert.deepEqual(got, stub.peek(BASE + 0x100n, 3000));
    const reads = stub.requests.slice(before);
    assert.deepEqual(reads.map((r) => r.request), [0x14, 0x14, 0x14]);
    assert.deepEqual(reads.map((r) => r.seq), [5, 6, 7]);
    await assert.rejects(target.readMemory(BASE + 0x1f00n, 0x200),
      /^TargetError: cannot read 512 bytes of memory at 0xffffff8000201f00: 0xffffff8000202000 is not accessible \(memory not accessible \(KDP BAD_ACCESS\)\)$/);
    const data = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 13) & 0xff));
    await target.writeMemory(BASE + 0x400n, data);
    assert.deepEqual(stub.peek(BASE + 0x400n, 1500), data);
    assert.deepEqual(await target.readMemory(BASE + 0x400n, 1500), data);
    await assert.rejects(target.writeMemory(BASE + 0x1ff0n, Buffer.alloc(32)), /cannot write 32 bytes of memory at 0xffffff8000201ff0: memory not accessible/);
  });
});

test('registers: x86_THREAD_STATE64 by name (rdi before rsi), writes through WRITEREGS, cs refused as xnu ignores it', async () => {
  await withStub(async (stub, target) => {
    const regs = await target.readRegisters();
    assert.equal(regs.get('rdi'), 0x1111n);
    assert.equal(regs.get('rsi'), 0x2222n);
    assert.equal(regs.get('rip'), BASE);
    assert.equal(regs.get('rsp'), 0xffffff8000ffe000n);
    assert.equal(regs.get('eflags'), 0x202n);
    await target.writeRegister('rax', 0xdeadbeefcafen);
    assert.equal(stub.reg('rax'), 0xdeadbeefcafen);
    assert.equal((await target.readRegisters()).get('rax'), 0xdeadbeefcafen);
    await assert.rejects(target.writeRegister('cs', 0x2bn), /KDP cannot change cs/);
    await assert.rejects(target.writeRegister('cr3', 0n), /no register named cr3 over KDP/);
    await assert.rejects(target.readRegisters('2'), /KDP shows only the CPU that trapped/);
  });
});

test('breakpoints: the target\'s int3 stops the loop each time round; rip past it, reads show the original byte, detach takes it out and the kernel runs', async () => {
  await withStub(async (stub, target) => {
    await target.insertBreakpoint(FUNC, 'software');
    assert.equal(stub.peek(FUNC, 1)![0], 0xcc);
    assert.equal((await target.readMemory(FUNC - 1n, 3)).toString('hex'), '909090');
    await target.resume();
    assert.equal(target.running, true);
    for (let hit = 1; hit <= 3; hit++) {
      const stop = await target.waitForStop();
      assert.equal(stop.reason, 'trap');
      assert.equal(stop.signal, 5);
      assert.equal(stop.raw, 'EXCEPTION cpu 0 exception 6 code 3 subcode 0');
      assert.equal((await target.readRegisters()).get('rip'), FUNC + BigInt(target.breakpointPcOffset));
      await target.rewindPc(FUNC);
      assert.equal(stub.reg('rip'), FUNC);
      assert.equal(await target.resumeOverBreakpoint(FUNC, 'software'), undefined);
    }
    const last = await target.waitForStop();
    assert.equal(last.reason, 'trap');
    // Once round the loop per hit: 0x10 nops to FUNC, then FUNC, the nop, the jmp and 0x10 again.
    assert.equal(stub.instructionsRun, 0x11 + 3 * (3 + 0x10 + 1) - 3 * 1 + 3);
    await target.rewindPc(FUNC);
    await target.detach();
    assert.equal(stub.isConnected, false);
    assert.deepEqual(stub.breakpointAddresses, []);
    assert.equal(stub.peek(FUNC, 1)![0], 0x90);
    assert.equal(stub.cpuState, 'running');
  });
});

test('step: TF set for one instruction, then cleared so the next resume runs freely', async () => {
  await withStub(async (stub, target) => {
    const stop = await target.step();
    assert.equal(stop.reason, 'trap');
    assert.equal((await target.readRegisters()).get('rip'), BASE + 1n);
    assert.equal(stub.reg('rflags') & 0x100n, 0n);
    assert.equal((await target.readRegisters()).get('eflags'), 0x202n);
    // Through the jmp: 0x12 more steps reach it, the next one lands back at BASE.
    for (let i = 0; i < 0x12; i++) await target.step();
    assert.equal((await target.readRegisters()).get('rip'), BASE);
  });
});

test('a lost reply is sent again by the target (seq - 1), a lost ack brings the EXCEPTION again, reported once', async () => {
  await withStub(async (stub, target, log) => {
    stub.dropReplies = 1;
    assert.deepEqual(await target.readMemory(BASE + 0x100n, 16), stub.peek(BASE + 0x100n, 16));
    const reads = stub.requests.filter((r) => r.request === 0x14);
    assert.equal(reads.length, 2);
    assert.equal(reads[0]!.seq, reads[1]!.seq);
    assert.ok(log.some((l) => /READMEM64 \(seq \d+\): no reply in 150 ms, sending it again/.test(l)), log.join('\n'));

    stub.ignoreAcks = 1;
    await target.insertBreakpoint(FUNC, 'software');
    await target.resume();
    await target.waitForStop();
    // The target sends the notification again until an ack gets through; each copy is acked.
    for (let i = 0; i < 200 && !(stub.acksSeen >= 2 && stub.acksSeen === stub.exceptionsSent); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(stub.exceptionsSent >= 2, `${stub.exceptionsSent} notifications`);
    assert.equal(stub.acksSeen, stub.exceptionsSent);
    assert.equal(log.filter((l) => /EXCEPTION seq 0 again/.test(l)).length, stub.exceptionsSent - 1, log.join('\n'));
    // Reported once: no second stop is queued (a queued one would come back before the abort).
    await assert.rejects(target.waitForStop(AbortSignal.timeout(0)), { name: 'TimeoutError' });
    assert.equal((await target.readRegisters()).get('rip'), FUNC + 1n);
  });
});

test('bad input: garbage datagrams are dropped, a hung target and a kernel KDP cannot stop give one line each', async () => {
  await withStub(async (stub, target, log) => {
    stub.sendRaw(Buffer.from('hello'));
    stub.sendRaw(Buffer.from('8f0720000000000000000000', 'hex'));
    stub.sendRaw(Buffer.from('0d001c00000000000000000000000000', 'hex'));
    assert.deepEqual(await target.readMemory(BASE + 0x100n, 8), stub.peek(BASE + 0x100n, 8));
    assert.ok(log.some((l) => /dropped: 5-byte datagram is shorter than a KDP header/.test(l)), log.join('\n'));
    assert.ok(log.some((l) => /header says 32 bytes, the datagram has 12/.test(l)), log.join('\n'));
    assert.ok(log.some((l) => /header says 28 bytes, the datagram has 16/.test(l)), log.join('\n'));

    await assert.rejects(target.insertBreakpoint(FUNC, 'hardware'), /KDP has no hardware breakpoints/);
    await assert.rejects(target.insertWatchpoint(), /KDP has no watchpoints/);
    await assert.rejects(target.insertBreakpoint(BASE + 0x3000n, 'software'), /0xffffff8000203000 is not accessible/);
    await assert.rejects(target.monitor('info registers'), /KDP has no monitor commands/);

    await target.writeRegister('rip', HLT);
    await target.resume();
    await assert.rejects(target.readMemory(BASE, 4), /^TargetError: cannot read memory while the kernel runs: KDP answers only while the kernel waits in the debugger$/);
    await assert.rejects(target.interrupt(), /^TargetError: KDP cannot stop a running kernel: it needs an NMI/);
  });

  // A step that never traps again (the CPU halts): one line, not a hang.
  await withStub(async (_stub, target) => {
    await assert.rejects(target.step(), /^TargetTimeoutError: KDP 127\.0\.0\.1:\d+: single step \(the kernel did not trap again\): no answer from the debug stub within 500 ms$/);
  }, { rip: HLT });

  await withStub(async (stub, target) => {
    stub.mute = true;
    const err = await target.readMemory(BASE, 4).then(() => undefined, (e: Error) => e);
    assert.equal(err?.message, 'KDP 127.0.0.1:' + stub.port + ': READMEM64: no answer from the debug stub within 450 ms');
  });
});

test('connecting: a second debugger is told the target is taken, an empty port times out, boot-args without breakpoints say so', async () => {
  await withStub(async (stub) => {
    await assert.rejects(KdpTarget.connect({ port: stub.port, timeoutMs: 150 }),
      /^TargetError: KDP 127\.0\.0\.1:\d+: another debugger is already connected \(KDP ALREADY_CONNECTED\); disconnect it first$/);
  });
  const empty = dgram.createSocket('udp4');
  await new Promise<void>((r) => empty.bind(0, '127.0.0.1', r));
  const port = empty.address().port;
  empty.close();
  await assert.rejects(KdpTarget.connect({ port, timeoutMs: 100 }), (e: Error) => {
    assert.match(e.message, new RegExp(`^KDP 127\\.0\\.0\\.1:${port}: CONNECT: (nothing listens there|no answer)`));
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  await withStub(async (_stub, target) => {
    assert.equal(target.info.breakpoints, false);
    await assert.rejects(target.insertBreakpoint(FUNC, 'software'), /boot-args turn KDP breakpoints off \(debug= has DB_KDP_BP_DIS, 0x80\)/);
  }, { breakpointsDisabled: true });
});
