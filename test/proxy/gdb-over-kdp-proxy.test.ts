/**
 * A stock gdb debugs an XNU kernel through `kdive proxy --kdp`: kdive speaks KDP, gdb speaks RSP.
 * The kernel is a FAKE XNU KDP stub (test/support/fake-xnu-kdp-stub.ts; no XNU runs here); gdb is
 * the real one, and what it prints is checked against the fake's own state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { kdiveNodeArgs } from '../support/cli-runner.js';
import { FakeXnuKdpStub, fakeXnuLoopText } from '../support/fake-xnu-kdp-stub.js';

const BASE = 0xffffff8000200000n;
const FUNC = BASE + 0x10n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

const kernelText = () => fakeXnuLoopText(0x1000);

async function startProxy(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, kdiveNodeArgs(['proxy', ...args]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) return { child, port: Number(m[1]), output: () => out, exit };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`kdive proxy did not get ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function gdb(port: number, commands: string[]): Promise<string> {
  const args = ['-nx', '-batch', '-ex', 'set confirm off', '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c])];
  const { stdout, stderr } = await promisify(execFile)('gdb', args, { timeout: 60_000 });
  return stdout + stderr;
}

test('gdb through kdive proxy --kdp: registers, memory, a breakpoint hit twice, stepi, a register write, detach leaves the kernel clean and running', async () => {
  const stub = await FakeXnuKdpStub.start({ memory: [{ base: BASE, bytes: kernelText() }], rip: BASE, registers: { rdi: 0x1111n, rsi: 0x2222n, rbx: 0xfeedn } });
  try {
    const proxy = await startProxy(['--kdp', `127.0.0.1:${stub.port}`]);
    assert.match(proxy.output(), /KDP 127\.0\.0\.1:\d+: Darwin Kernel Version 20\.6\.0: FAKE XNU/);
    const out = await gdb(proxy.port, [
      'info registers rip rdi rsi rbx',
      `x/4xb ${hex(BASE + 0x100n)}`,
      `break *${hex(FUNC)}`,
      'continue',
      'p/x $pc',
      'continue',
      'p/x $pc',
      'stepi',
      'p/x $pc',
      'set $rax = 0x4242',
      'p/x $st0',
      'detach',
    ]);
    const text = stub.peek(BASE + 0x100n, 4)!;
    assert.match(out, new RegExp(`^rip\\s+${hex(BASE)}\\s`, 'm'), out);
    assert.match(out, /^rdi\s+0x1111\s+4369$/m, out);
    assert.match(out, /^rsi\s+0x2222\s+8738$/m, out);
    assert.match(out, /^rbx\s+0xfeed\s+65261$/m, out);
    assert.match(out, new RegExp(`^${hex(BASE + 0x100n)}:\\s+${[...text].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join('\\s+')}$`, 'm'), out);
    // Both hits report the breakpoint's own address (kdive rewound rip past the int3), then one instruction on.
    const pcs = [...out.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => m[1]);
    assert.deepEqual(pcs.slice(0, 3), [hex(FUNC), hex(FUNC), hex(FUNC + 1n)], out);
    assert.equal((out.match(/^Breakpoint 1, /gm) ?? []).length, 2, out);
    // Registers KDP does not carry are unavailable, not zero.
    assert.match(out, /^\$4 = <unavailable>$/m, out);
    assert.equal(stub.reg('rax'), 0x4242n);
    assert.match(out, /\[Inferior 1 \(Remote target\) detached\]/, out);
    assert.equal(await proxy.exit, 0, proxy.output());
    assert.match(proxy.output(), /gdb detached: detaching from the target/);
    assert.equal(stub.isConnected, false);
    assert.deepEqual(stub.breakpointAddresses, []);
    assert.equal(stub.peek(FUNC, 1)![0], 0x90);
    assert.equal(stub.cpuState, 'running');
  } finally {
    stub.close();
  }
});

test('gdb through kdive proxy --kdp: Ctrl-C on a kernel KDP cannot stop says why in gdb; gdb killed, kdive still lets the kernel go', async () => {
  const text = kernelText();
  text[0x20] = 0xf4; // hlt: the kernel idles for ever
  const stub = await FakeXnuKdpStub.start({ memory: [{ base: BASE, bytes: text }], rip: BASE + 0x20n });
  try {
    const proxy = await startProxy(['--kdp', `127.0.0.1:${stub.port}`]);
    const child = spawn('gdb', ['-nx', '-q', '-ex', 'set confirm off', '-ex', `target remote 127.0.0.1:${proxy.port}`, '-ex', `break *${hex(FUNC)}`, '-ex', 'continue'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/Continuing\./.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    while (stub.cpuState !== 'halted' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    while (!/KDP cannot stop a running kernel/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /kdive: KDP cannot stop a running kernel: it needs an NMI/, out);
    child.kill('SIGKILL');
    assert.equal(await proxy.exit, 0, proxy.output());
    assert.match(proxy.output(), /gdb (closed the connection|hung up): detaching from the target/);
  } finally {
    stub.close();
  }
});

test('kdive proxy --kdp: a port where no kernel answers, and both --to and --kdp, are one line each', async () => {
  const silent = await FakeXnuKdpStub.start({ memory: [], rip: 0n });
  silent.mute = true;
  try {
    const child = spawn(process.execPath, kdiveNodeArgs(['proxy', '--kdp', `127.0.0.1:${silent.port}`]), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(err.trim(), new RegExp(`^kdive: KDP 127\\.0\\.0\\.1:${silent.port}: CONNECT: no answer from the debug stub within 3000 ms$`));
  } finally {
    silent.close();
  }
  const both = spawn(process.execPath, kdiveNodeArgs(['proxy', '--kdp', '127.0.0.1', '--to', '127.0.0.1:1234']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  both.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => both.once('exit', (c) => r(c)));
  assert.equal(code, 2);
  assert.match(err.trim(), /^kdive: proxy: give one of --to HOST:PORT \(an RSP stub\) or --kdp HOST\[:PORT\] \(an XNU kernel\)$/);
});
