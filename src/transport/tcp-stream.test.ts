import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connectTcp, connectUnix } from './tcp-stream.js';
import { scratchDir } from '../../test/support/own-resources.js';

function readToEnd(socket: net.Socket): Promise<string> {
  return new Promise((r) => {
    let got = '';
    socket.on('data', (d) => (got += d));
    socket.on('end', () => r(got));
  });
}

async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('connectTcp keeps retrying a refused connection until something listens', async () => {
  const port = await unusedPort();
  const server = net.createServer((s) => s.end('hello'));
  const connecting = connectTcp('127.0.0.1', port, { retryUntilMs: 20_000 });
  // Listen only after the first attempts have been refused.
  setTimeout(() => server.listen(port, '127.0.0.1'), 300);
  const socket = await connecting;
  const text = await readToEnd(socket);
  assert.equal(text, 'hello');
  socket.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

test('connectTcp names host:port when nothing listens, with or without retries', async () => {
  const port = await unusedPort();
  await assert.rejects(connectTcp('127.0.0.1', port), (e: Error) => e.message.includes(`127.0.0.1:${port}`) && /ECONNREFUSED/.test(e.message));
  await assert.rejects(connectTcp('127.0.0.1', port, { retryUntilMs: 300 }), (e: Error) => e.message.includes(`127.0.0.1:${port}`));
});

test('connectUnix waits for a socket that does not exist yet, and names the path when none comes', async () => {
  const path = await import('node:path');
  const dir = scratchDir('kdive-unix-');
  const sock = path.join(dir, 'serial.sock');
  const server = net.createServer((s) => s.end('line'));
  const connecting = connectUnix(sock, { retryUntilMs: 20_000 });
  setTimeout(() => server.listen(sock), 300); // the file appears only now
  const socket = await connecting;
  const text = await readToEnd(socket);
  assert.equal(text, 'line');
  socket.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(connectUnix(path.join(dir, 'none.sock')), new RegExp(`^KdiveError: cannot connect to ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/none\\.sock: `));
});
