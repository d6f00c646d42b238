import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GdbRemoteTarget } from '../../src/target/gdb-remote/gdb-remote-target.js';
import { BreakpointTable } from '../../src/session/breakpoints.js';
import { RunControl, type RawStop } from '../../src/session/run-control.js';
import { unwindFramePointers } from '../../src/unwind/index.js';
import { FakeRspStub, type FakeFlavor } from '../support/fake-rsp-stub.js';

/**
 * The toy kernel function, run in a loop by CPU 0 of the fake stub:
 *   F+0x00  nop5                (an ftrace site)
 *   F+0x05  push %rbp
 *   F+0x06  mov %rsp,%rbp
 *   F+0x09  incq COUNT(%rip)    (counts the iterations in memory)
 *   F+0x10  pop %rbp
 *   F+0x11  jmp F
 */
const F = 0xffffffff81000000n;
const NOP5 = F, PUSH = F + 5n, MOV = F + 6n, INC = F + 9n, POP = F + 0x10n, JMP = F + 0x11n;
const COUNT = 0xffffffff82000000n;
const STACK_TOP = 0xffffc90000004000n;
const RBP = 0x1234n;

function code(): Buffer {
  const b = Buffer.alloc(0x40, 0x90);
  Buffer.from('0f1f440000', 'hex').copy(b, 0);
  b[5] = 0x55;
  Buffer.from('4889e5', 'hex').copy(b, 6);
  Buffer.from('48ff05', 'hex').copy(b, 9);
  b.writeInt32LE(Number(COUNT - (F + 0x10n)), 12);
  b[0x10] = 0x5d;
  b[0x11] = 0xeb;
  b.writeInt8(-0x13, 0x12);
  return b;
}

async function attach(flavor: FakeFlavor, opts: { budget?: number; cpus?: number } = {}) {
  const stub = new FakeRspStub({
    flavor,
    memory: [{ address: F, bytes: code() }, { address: COUNT, bytes: Buffer.alloc(0x100) }, { address: STACK_TOP - 0x4000n, bytes: Buffer.alloc(0x4000) }],
    registers: { rip: F, rsp: STACK_TOP, rbp: RBP },
    ...opts,
  });
  const target = await GdbRemoteTarget.connect(stub.client, { profile: flavor === 'kgdb' ? 'kgdb' : 'auto', timeoutMs: 5000 });
  const table = new BreakpointTable();
  const rc = new RunControl(target, table);
  const count = () => stub.u64(COUNT);
  const hex = (v: bigint) => `0x${v.toString(16)}`;
  /** A user breakpoint at an address, inserted as the session would. */
  const breakAt = async (address: bigint, kind: 'software' | 'hardware' = 'software') => {
    const bp = table.add(hex(address), address, kind);
    await rc.sync(address, kind);
    return bp;
  };
  return { stub, target, table, rc, count, hex, breakAt };
}

type Attached = Awaited<ReturnType<typeof attach>>;

/** Runs a test body against a fresh fake stub, closing the connection whatever happens. */
async function withStub(flavor: FakeFlavor, opts: { budget?: number; cpus?: number }, body: (c: Attached) => Promise<void>): Promise<void> {
  const c = await attach(flavor, opts);
  try {
    await body(c);
  } finally {
    c.target.close();
  }
}

const where = (s: RawStop) => (s.kind === 'gone' ? 'gone' : `${s.kind}@0x${s.pc.toString(16)}`);

test('the fake QEMU stub: attach reads the 66-register target.xml in pieces, one `?`, TCG detected through `info kvm`', async () => {
  const stub = new FakeRspStub({ flavor: 'qemu-tcg', memory: [], registers: { rip: F, rsp: STACK_TOP }, xmlChunk: 200 });
  const target = await GdbRemoteTarget.connect(stub.client);
  try {
    assert.equal(target.stubName, 'qemu');
    assert.equal(target.registerLayout.length, 66);
    assert.equal(target.registerLayout.find((r) => r.name === 'mxcsr')?.offset, 604);
    assert.equal(target.stepsOverBreakpointsInPlace, true);
    assert.equal(stub.received.filter((p) => p === '?').length, 1);
    assert.ok(stub.received.filter((p) => p.startsWith('qXfer:features:read:i386-64bit.xml')).length > 5);
    const regs = await target.readRegisters();
    assert.deepEqual([regs.get('rip'), regs.get('rsp'), regs.get('cs'), regs.get('eflags')], [F, STACK_TOP, 0x10n, 0n]);
    assert.equal(target.initialStop?.threadId, '01');
  } finally {
    target.close();
  }
});

test('the fake kgdb stub: no qSupported, the 156-byte built-in layout, S05 at attach', async () => {
  await withStub('kgdb', {}, async ({ stub, target }) => {
    assert.equal(target.stubName, 'kgdb');
    assert.equal((await target.readRegisters()).get('rbp'), RBP);
    assert.equal(target.initialStop?.reason, 'trap');
    assert.ok(!stub.received.some((p) => p.startsWith('qXfer')));
  });
});

test('memory: a large read is split into m packets of at most 0x7f0 bytes; writes probe X and fall back to M on QEMU', async () => {
  await withStub('qemu-tcg', {}, async ({ stub, target }) => {
    const before = stub.received.length;
    const stack = await target.readMemory(STACK_TOP - 0x1000n, 0x1000);
    assert.equal(stack.length, 0x1000);
    const reads = stub.received.slice(before).filter((p) => p.startsWith('m'));
    assert.deepEqual(reads.map((p) => p.split(',')[1]), ['7f0', '7f0', '20']);
    await target.writeMemory(COUNT + 8n, Buffer.from('cafe', 'hex'));
    assert.deepEqual(stub.peek(COUNT + 8n, 2), Buffer.from('cafe', 'hex'));
    assert.ok(stub.received.includes(`X${(COUNT + 8n).toString(16)},0:`));
    assert.ok(stub.received.includes(`M${(COUNT + 8n).toString(16)},2:cafe`));
    await assert.rejects(target.readMemory(0x10n, 4), /cannot read 4 bytes of memory at 0x10 \(stub error E14\)/);
  });
});

test('registers: P writes one register, the cache sees it, G-less kgdb ignores rsp', async () => {
  await withStub('qemu-tcg', {}, async ({ stub, target }) => {
    await target.writeRegister('rax', 0xdeadn);
    assert.equal(stub.reg('rax'), 0xdeadn);
    assert.equal((await target.readRegisters()).get('rax'), 0xdeadn);
  });
  await withStub('kgdb', {}, async ({ stub, target }) => {
    await assert.rejects(target.writeRegister('rsp', 0n), /kgdb cannot change rsp/);
    assert.equal(stub.reg('rsp'), STACK_TOP);
  });
});

for (const flavor of ['qemu-tcg', 'qemu-kvm', 'kgdb'] as const) {
  test(`${flavor}: a breakpoint on push %rbp hits at every iteration, and going on applies the push without losing the saved rbp`, async () => {
    await withStub(flavor, {}, async ({ stub, rc, count, hex, breakAt }) => {
      await breakAt(PUSH);
      const seen: string[] = [];
      const counts: bigint[] = [];
      for (let i = 0; i < 6; i++) {
        const stop = await rc.continueOnce();
        seen.push(where(stop));
        counts.push(count());
        // At the hit, nothing of the push has happened yet: rbp is the caller's, rsp at the top.
        assert.equal(stub.reg('rbp'), RBP, `rbp at hit ${i}`);
        assert.equal(stub.reg('rsp'), STACK_TOP, `rsp at hit ${i}`);
      }
      assert.deepEqual(seen, Array(6).fill(`breakpoint@${hex(PUSH)}`));
      assert.deepEqual(counts, [0n, 1n, 2n, 3n, 4n, 5n]);
      // kgdb's rsp cannot be written: the push is stepped there, applied in place elsewhere (not under KVM, where m shows the int3).
      assert.equal(rc.emulatedCount, flavor === 'qemu-tcg' ? 5 : 0);
    });
  });
}

test('kgdb: the pc after the int3 is moved back to the breakpoint, and the next packet carries it', async () => {
  await withStub('kgdb', {}, async ({ stub, rc, hex, breakAt }) => {
    await breakAt(INC);
    const first = await rc.continueOnce();
    assert.equal(where(first), `breakpoint@${hex(INC)}`);
    assert.equal(stub.reg('rip'), INC + 1n); // the stub still has it past the int3...
    await rc.continueOnce(); // ...and going on sends it back to INC: the inc runs once per iteration
    assert.equal(stub.u64(COUNT), 1n);
    assert.ok(stub.received.some((p) => p === `s${INC.toString(16)}` || p === `c${INC.toString(16)}`), 'the rewound pc went out with s or c');
  });
});

test('an instruction kdive cannot apply (incq) is stepped over: QEMU/KVM removes the breakpoint around the step and puts it back', async () => {
  await withStub('qemu-kvm', {}, async ({ stub, rc, count, hex, breakAt }) => {
    await breakAt(INC);
    assert.equal(where(await rc.continueOnce()), `breakpoint@${hex(INC)}`);
    const before = stub.received.length;
    assert.equal(where(await rc.continueOnce()), `breakpoint@${hex(INC)}`);
    assert.equal(count(), 1n);
    const z = `0,${INC.toString(16)},1`;
    const sent = stub.received.slice(before);
    assert.ok(sent.indexOf(`z${z}`) >= 0 && sent.indexOf(`z${z}`) < sent.indexOf('vCont;s:01') && sent.indexOf('vCont;s:01') < sent.indexOf(`Z${z}`), sent.join(' '));
    assert.ok(stub.software.has(INC));
  });
});

test('two breakpoints: a step off one that lands on the other is that one hit, not run over', async () => {
  await withStub('qemu-tcg', {}, async ({ stub, rc, count, hex, breakAt }) => {
    await breakAt(INC);
    await breakAt(POP, 'hardware');
    const seen: string[] = [];
    const resumes: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const before = stub.received.length;
      seen.push(where(await rc.continueOnce()));
      resumes.push(stub.received.slice(before).filter((p) => /^(vCont;|[cs]$|[cs][0-9a-f])/.test(p)));
    }
    assert.deepEqual(seen, [`breakpoint@${hex(INC)}`, `breakpoint@${hex(POP)}`, `breakpoint@${hex(INC)}`, `breakpoint@${hex(POP)}`]);
    assert.equal(count(), 2n);
    // From INC (which kdive cannot apply itself), one step lands on POP: that is the hit, with no continue after it.
    assert.deepEqual(resumes[1], ['vCont;s:01']);
    assert.deepEqual(resumes[3], ['vCont;s:01']);
  });
});

test('step from a breakpoint runs the instruction under it and reports a plain stop, not a hit', async () => {
  await withStub('qemu-kvm', {}, async ({ stub, rc, hex, breakAt }) => {
    await breakAt(PUSH);
    await rc.continueOnce();
    const s = await rc.step();
    assert.equal(where(s), `stop@${hex(MOV)}`);
    assert.equal(stub.reg('rsp'), STACK_TOP - 8n);
    assert.equal(stub.u64(STACK_TOP - 8n), RBP);
    assert.equal(where(await rc.step()), `stop@${hex(INC)}`);
    assert.equal(stub.reg('rbp'), STACK_TOP - 8n);
  });
});

test('internal breakpoints share addresses with user ones: removing the internal one keeps the user one in', async () => {
  await withStub('qemu-kvm', {}, async ({ stub, table, rc, hex, breakAt }) => {
    const user = await breakAt(POP);
    await rc.addInternal(POP);
    await rc.addInternal(JMP);
    assert.deepEqual([...stub.software].sort(), [POP, JMP].sort());
    const hit = await rc.continueOnce();
    assert.equal(where(hit), `breakpoint@${hex(POP)}`);
    assert.equal(hit.kind === 'breakpoint' && hit.internal, true);
    assert.deepEqual(hit.kind === 'breakpoint' && hit.breakpoints.map((b) => b.id), [user.id]);
    await rc.removeInternal(POP);
    await rc.removeInternal(JMP);
    assert.deepEqual([...stub.software], [POP]);
    assert.equal(rc.isInserted(JMP), false);
    table.remove(user.id);
    await rc.sync(POP);
    assert.equal(stub.software.size, 0);
  });
});

test('a write watchpoint on the counter stops after the write, with its address, as a watchpoint', async () => {
  await withStub('qemu-tcg', {}, async ({ target, table, rc, count, hex }) => {
    const w = table.add('COUNT', COUNT, 'software');
    w.watch = { expression: 'count', length: 8, kind: 'write' };
    await target.insertWatchpoint(COUNT, 8, 'write');
    const stop = await rc.continueOnce();
    assert.equal(where(stop), `watchpoint@${hex(POP)}`);
    assert.equal(stop.kind === 'watchpoint' && stop.address, COUNT);
    assert.deepEqual(stop.kind === 'watchpoint' && stop.watchpoints.map((b) => b.id), [w.id]);
    assert.equal(count(), 1n);
  });
});

test('a guest that goes idle is stopped with the interrupt byte: QEMU answers T02', async () => {
  await withStub('qemu-tcg', { budget: 20 }, async ({ stub, target }) => {
    await target.resume();
    await new Promise((r) => setTimeout(r, 20));
    const stop = await target.interrupt();
    assert.equal(stop.reason, 'interrupt');
    assert.equal(stub.interrupts, 1);
    assert.equal(stub.executed, 20);
  });
});

test('threads: one per vCPU with QEMU\'s extra info', async () => {
  await withStub('qemu-tcg', { cpus: 3 }, async ({ target }) => {
    assert.deepEqual(await target.threads(), [
      { id: '01', description: 'CPU#0 [halted ]' },
      { id: '02', description: 'CPU#1 [halted ]' },
      { id: '03', description: 'CPU#2 [halted ]' },
    ]);
  });
});

test('the frame-pointer unwinder walks a stack read through the stub', async () => {
  await withStub('qemu-tcg', {}, async ({ stub, target }) => {
    // Three frames: [saved rbp][return address] at each rbp, the outermost with rbp 0.
    const frame = (at: bigint, savedRbp: bigint, ret: bigint) => target.writeMemory(at, Buffer.concat([le(savedRbp), le(ret)]));
    const f1 = STACK_TOP - 0x100n, f2 = STACK_TOP - 0x80n, f3 = STACK_TOP - 0x40n;
    await frame(f1, f2, F + 0x21n);
    await frame(f2, f3, F + 0x32n);
    await frame(f3, 0n, F + 0x43n);
    const result = await unwindFramePointers({ ip: INC, sp: f1 - 0x10n, bp: f1 }, async (a) => (await target.readMemory(a, 8)).readBigUInt64LE());
    assert.deepEqual(result.frames.map((f) => f.pc), [INC, F + 0x21n, F + 0x32n, F + 0x43n]);
    assert.equal(result.end.reason, 'end-of-stack');
    assert.ok(stub.received.filter((p) => p.startsWith('m')).length >= 6);
  });
});

function le(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}
