import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ConnectionClosedError, TargetTimeoutError } from '../target-error.js';
import { encodePacket } from './packet-codec.js';
import { RspConnection } from './rsp-connection.js';
import { GdbRemoteTarget } from './gdb-remote-target.js';

/** A scripted stub on 127.0.0.1: `onPacket` answers each packet the client sends. */
async function scriptedStub(onPacket: (payload: string, sock: net.Socket) => void, onConnect?: (sock: net.Socket) => void) {
  const received: string[] = [];
  const server = net.createServer((sock) => {
    onConnect?.(sock);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let m = /\$([^#]*)#[0-9a-f]{2}/.exec(buf); m; m = /\$([^#]*)#[0-9a-f]{2}/.exec(buf)) {
        buf = buf.slice(m.index + m[0].length);
        received.push(m[1]!);
        sock.write('+');
        onPacket(m[1]!, sock);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const socket = await new Promise<net.Socket>((r) => {
    const s = net.connect(port, '127.0.0.1', () => r(s));
  });
  return { socket, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const reply = (sock: net.Socket, payload: string) => sock.write(encodePacket(payload));

test('an unsolicited stop at connect goes to the stop queue, not to the next request', async () => {
  const stub = await scriptedStub((p, s) => reply(s, p === 'qC' ? 'QC01' : ''), (s) => reply(s, 'T02thread:01;'));
  const conn = new RspConnection(stub.socket);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await conn.request('qC'), 'QC01');
  assert.equal(await conn.waitForStop(), 'T02thread:01;');
  conn.close();
  await stub.close();
});

test('a NAK makes the client send the same packet again', async () => {
  let naks = 0;
  const stub = await scriptedStub((p, s) => {
    if (naks++ === 0) s.write('-');
    else reply(s, `got ${p}`);
  });
  const conn = new RspConnection(stub.socket);
  assert.equal(await conn.request('qAttached'), 'got qAttached');
  assert.deepEqual(stub.received, ['qAttached', 'qAttached']);
  conn.close();
  await stub.close();
});

test('a reply with a bad checksum is NAKed and the resent reply is taken', async () => {
  const stub = await scriptedStub((_p, s) => {
    s.write('$OK#00'); // garbled
    s.once('data', (d) => {
      if (d.toString().startsWith('-')) reply(s, 'OK');
    });
  });
  const conn = new RspConnection(stub.socket);
  assert.equal(await conn.request('Hg1'), 'OK');
  conn.close();
  await stub.close();
});

test('a stub that hangs up mid-request fails the request and every stop waiter with a clear error', async () => {
  const stub = await scriptedStub((_p, s) => s.destroy());
  const conn = new RspConnection(stub.socket, { name: '127.0.0.1:9' });
  const waiting = conn.waitForStop();
  await assert.rejects(conn.request('g'), (e: Error) => e instanceof ConnectionClosedError && /127\.0\.0\.1:9: the debug stub closed the connection/.test(e.message));
  await assert.rejects(waiting, ConnectionClosedError);
  await assert.rejects(conn.request('g'), ConnectionClosedError);
  await stub.close();
});

test('a stub that never answers gives a timeout error naming the request', async () => {
  const stub = await scriptedStub(() => undefined);
  const conn = new RspConnection(stub.socket, { timeoutMs: 200 });
  await assert.rejects(conn.request('m1000,4'), (e: Error) => e instanceof TargetTimeoutError && /'m1000,4'/.test(e.message) && /200 ms/.test(e.message));
  conn.close();
  await stub.close();
});

/** A kgdb-like stub: no qSupported, a 156-byte `g`, S05 to `?`. */
function kgdbLike(gBytes: number) {
  return (p: string, s: net.Socket) => {
    if (p === '?') reply(s, 'S05');
    else if (p === 'g') reply(s, Buffer.alloc(gBytes, 0).fill(0x11, 0, 8).toString('hex'));
    else if (p.startsWith('p')) reply(s, 'E22');
    else reply(s, '');
  };
}

test('a g reply shorter than the layout marks the rest unavailable; a longer one is parsed, never an error', async () => {
  for (const [bytes, ripAvailable] of [[156, true], [100, false], [400, true]] as const) {
    const stub = await scriptedStub(kgdbLike(bytes));
    const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'auto' });
    assert.equal(target.stubName, 'kgdb');
    const regs = await target.readRegisters();
    assert.equal(regs.get('rax'), 0x1111111111111111n);
    assert.equal(regs.get('rip') !== undefined, ripAvailable, `${bytes}-byte g`);
    target.close();
    await stub.close();
  }
});

test('memory reads are split at the stub profile limit and an error reply names the address', async () => {
  const stub = await scriptedStub((p, s) => {
    if (p === '?') return reply(s, 'S05');
    const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (!m) return reply(s, '');
    const addr = parseInt(m[1]!, 16);
    if (addr >= 0x2000) return reply(s, 'E22');
    reply(s, Buffer.alloc(parseInt(m[2]!, 16), addr & 0xff).toString('hex'));
  });
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'kgdb' });
  const data = await target.readMemory(0x1000n, 600);
  assert.equal(data.length, 600);
  assert.deepEqual(stub.received.filter((p) => p.startsWith('m')), ['m1000,100', 'm1100,100', 'm1200,58']);
  await assert.rejects(target.readMemory(0x2000n, 4), /cannot read 4 bytes of memory at 0x2000/);
  target.close();
  await stub.close();
});

/** A QEMU-like stub that answers `m` with a pattern of the address, and tracks requests in flight. */
function pipelineStub(opts: { badAt?: number; errorAt?: number } = {}) {
  const seen = { maxInFlight: 0, inFlight: 0 };
  const onPacket = (p: string, s: net.Socket) => {
    if (p === '?') return reply(s, 'S05');
    if (p.startsWith('qSupported')) return reply(s, 'PacketSize=1000;qXfer:features:read+');
    const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (!m) return reply(s, '');
    const addr = parseInt(m[1]!, 16);
    const n = parseInt(m[2]!, 16);
    seen.inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    // Answer a little later, in order, so requests pile up as they would on a real link.
    setTimeout(() => {
      seen.inFlight--;
      if (addr === opts.errorAt) return reply(s, 'E14');
      const bytes = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bytes[i] = ((addr + i) * 7) & 0xff;
      let hex = bytes.toString('hex');
      if (addr === opts.badAt) hex = `zz${hex.slice(2)}`;
      reply(s, hex);
    }, 1);
  };
  return { seen, onPacket };
}

test('a pipelined read keeps at most the window in flight and puts every reply where its request asked', async () => {
  const { seen, onPacket } = pipelineStub();
  const stub = await scriptedStub(onPacket);
  const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'generic' });
  // The generic profile pipelines nothing; give it a window as QEMU's profile has.
  const profile = target.profile as { memoryReadWindow: number; maxMemoryRead: number };
  profile.memoryReadWindow = 6;
  profile.maxMemoryRead = 0x100;
  const base = 0x4000;
  const length = 0x100 * 40 + 0x33;
  const data = await target.readMemory(BigInt(base), length);
  for (let i = 0; i < length; i++) assert.equal(data[i], ((base + i) * 7) & 0xff, `byte ${i}`);
  const reads = stub.received.filter((p) => p.startsWith('m'));
  assert.equal(reads.length, 41);
  assert.deepEqual(reads.slice(0, 2), ['m4000,100', 'm4100,100']);
  assert.equal(reads.at(-1), `m${(base + 0x100 * 40).toString(16)},33`);
  assert.ok(seen.maxInFlight > 1, `requests overlapped (${seen.maxInFlight} at most)`);
  assert.ok(seen.maxInFlight <= 6, `never more than the window in flight (${seen.maxInFlight})`);
  target.close();
  await stub.close();
});

test('an error or a bad hex digit in the middle of a pipelined read names the address of that packet', async () => {
  for (const [opts, message] of [
    [{ errorAt: 0x4300 }, /cannot read 256 bytes of memory at 0x4300 \(stub error E14\)/],
    [{ badAt: 0x4500 }, /bad reply to a memory read at 0x4500: not a hex string/],
  ] as const) {
    const { onPacket } = pipelineStub(opts);
    const stub = await scriptedStub(onPacket);
    const target = await GdbRemoteTarget.connect(stub.socket, { profile: 'generic' });
    const profile = target.profile as { memoryReadWindow: number; maxMemoryRead: number };
    profile.memoryReadWindow = 4;
    profile.maxMemoryRead = 0x100;
    await assert.rejects(target.readMemory(0x4000n, 0x1000), message);
    // The connection is still in step: the next request gets its own reply.
    assert.equal((await target.readMemory(0x8000n, 4)).toString('hex'), Buffer.from([0x8000 * 7, 0x8001 * 7, 0x8002 * 7, 0x8003 * 7].map((v) => v & 0xff)).toString('hex'));
    target.close();
    await stub.close();
  }
});

test('an O packet of odd hex length is a reply, not console output (found by npm run fuzz: it threw out of the socket handler)', async () => {
  const stub = await scriptedStub((p, s) => reply(s, p === 'qRcmd,6869' ? 'OC' : 'OK'));
  const conn = new RspConnection(stub.socket);
  assert.equal(await conn.request('qRcmd,6869'), 'OC');
  assert.equal(await conn.request('qC'), 'OK');
  stub.socket.destroy();
  await stub.close();
});
