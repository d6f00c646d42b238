import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { QmpClient, QmpError, type QmpEvent } from '../../src/vm/qmp-client.js';
import { KdiveError } from '../../src/errors.js';
import { scratchDir } from '../support/own-resources.js';

/** A scripted QMP server: greets, then hands each parsed request to `onRequest`. */
async function fakeQmp(onRequest: (req: { execute: string; arguments?: Record<string, unknown>; id?: unknown }, send: (o: unknown) => void, sock: net.Socket) => void, listenAfterMs = 0) {
  const dir = scratchDir('kdive-qmp-test-');
  const socketPath = path.join(dir, 'qmp.sock');
  const seen: unknown[] = [];
  const server = net.createServer((sock) => {
    const send = (o: unknown) => sock.write(`${JSON.stringify(o)}\r\n`);
    send({ QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'fake' }, capabilities: ['oob'] } });
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; id?: unknown };
        buf = buf.slice(nl + 1);
        seen.push(req);
        if (req.execute === 'qmp_capabilities') send({ return: {}, id: req.id });
        else onRequest(req, send, sock);
      }
    });
  });
  const listening = new Promise<void>((r) => setTimeout(() => server.listen(socketPath, r), listenAfterMs));
  return { socketPath, seen, server, listening, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('QMP: capabilities first, ids match out-of-order replies, errors carry desc, events by name, HMP text', async () => {
  const held: { req: { id?: unknown }; send: (o: unknown) => void }[] = [];
  const fake = await fakeQmp((req, send) => {
    if (req.execute === 'slow') held.push({ req, send });
    else if (req.execute === 'fast') {
      send({ event: 'STOP', data: {}, timestamp: { seconds: 1, microseconds: 2 } });
      send({ return: { which: 'fast' }, id: req.id });
      const h = held.shift()!;
      h.send({ return: { which: 'slow' }, id: h.req.id });
    } else if (req.execute === 'human-monitor-command') send({ return: `HMP got ${String(req.arguments?.['command-line'])}\r\n`, id: req.id });
    else send({ error: { class: 'CommandNotFound', desc: `The command ${req.execute} has not been found` }, id: req.id });
  });
  await fake.listening;
  const qmp = await QmpClient.connect(fake.socketPath);
  try {
    assert.deepEqual(qmp.version, { major: 7, minor: 2, micro: 0 });
    assert.equal((fake.seen[0] as { execute: string }).execute, 'qmp_capabilities');
    const events: QmpEvent[] = [];
    qmp.on('STOP', (e: QmpEvent) => events.push(e));
    const slow = qmp.execute<{ which: string }>('slow');
    const fast = qmp.execute<{ which: string }>('fast');
    assert.deepEqual(await Promise.all([slow, fast]), [{ which: 'slow' }, { which: 'fast' }]);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.event, 'STOP');
    assert.equal(await qmp.humanMonitorCommand('info status'), 'HMP got info status\r\n');
    await assert.rejects(qmp.execute('nope', { a: 1 }), (err: unknown) => {
      assert.ok(err instanceof QmpError && err instanceof KdiveError);
      assert.equal(err.errorClass, 'CommandNotFound');
      assert.equal(err.desc, 'The command nope has not been found');
      assert.match(err.message, /^QMP nope: The command nope has not been found$/);
      return true;
    });
    const ids = fake.seen.map((r) => (r as { id?: unknown }).id);
    assert.equal(new Set(ids).size, ids.length, 'every request has its own id');
    assert.deepEqual((fake.seen.find((r) => (r as { execute: string }).execute === 'nope') as { arguments: unknown }).arguments, { a: 1 });
  } finally {
    qmp.close();
    await fake.close();
  }
});

test('QMP: a socket that appears late is waited for; a closed connection fails pending and later commands', async () => {
  let victim: net.Socket | undefined;
  const fake = await fakeQmp((_req, _send, sock) => {
    victim = sock;
    sock.destroy();
  }, 300);
  const qmp = await QmpClient.connect(fake.socketPath, { timeoutMs: 10_000 });
  const closed = new Promise((r) => qmp.once('close', r));
  await assert.rejects(qmp.execute('query-status'), /QMP query-status: QEMU closed the connection/);
  await closed;
  assert.ok(victim);
  await assert.rejects(qmp.execute('cont'), /QEMU is gone/);
  await fake.close();
});

test('QMP: connecting gives up when aborted (QEMU died) instead of retrying to the deadline', async () => {
  const dir = scratchDir('kdive-qmp-test-');
  const ac = new AbortController();
  setTimeout(() => ac.abort('QEMU exited'), 200);
  await assert.rejects(QmpClient.connect(path.join(dir, 'never.sock'), { timeoutMs: 600_000, signal: ac.signal }), /gave up \(QEMU exited\)/);
});
