/**
 * A whole RSP conversation: kdive's client (GdbRemoteTarget) attaches to a scripted stub that
 * answers each request with what QEMU 7.2 answered in the captured conversation
 * (test/fuzz/seeds/rsp-qemu-replies.bin), some of those answers mutated. Whatever the stub says,
 * attaching, reading registers and memory and listing threads each succeed or fail with
 * kdive's own error in one line, within the request timeout; never another error or a hang.
 */
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import fc from 'fast-check';
import { PacketDecoder, encodePacket } from '../../../src/target/gdb-remote/packet-codec.js';
import { GdbRemoteTarget } from '../../../src/target/gdb-remote/gdb-remote-target.js';
import { parsedOrRejectedAsync, property, type FuzzProperty } from '../fuzz-property.js';
import { mutatedTextFrom } from '../mutation.js';
import { fixture, seed } from '../seeds/seeds.js';

/** QEMU's replies, in the order the capture has them. */
const CAPTURED = [...seed('rsp-qemu-replies.bin').toString('latin1').matchAll(/\$([^#]*)#/g)].map((m) => m[1]!);
const CORE_XML = fixture('target-xml', 'qemu-7.2', 'i386-64bit.xml').toString('latin1');

/** The request kinds the script answers, each with QEMU's answer. */
const SCRIPT: { kind: string; matches: (req: string) => boolean; reply: (req: string) => string }[] = [
  { kind: 'qSupported', matches: (r) => r.startsWith('qSupported'), reply: () => CAPTURED[0]! },
  { kind: 'target.xml', matches: (r) => r.startsWith('qXfer:features:read:target.xml:'), reply: () => CAPTURED[3]! },
  {
    kind: 'i386-64bit.xml',
    matches: (r) => r.startsWith('qXfer:features:read:i386-64bit.xml:'),
    reply: (r) => {
      const [offset, length] = r.split(':').pop()!.split(',').map((h) => parseInt(h, 16));
      const chunk = CORE_XML.slice(offset, offset! + length!);
      return (offset! + length! >= CORE_XML.length ? 'l' : 'm') + chunk;
    },
  },
  { kind: '?', matches: (r) => r === '?', reply: () => CAPTURED[7]! },
  { kind: 'g', matches: (r) => r === 'g', reply: () => CAPTURED[13]! },
  { kind: 'm', matches: (r) => r.startsWith('m'), reply: () => CAPTURED[15]! },
  { kind: 'qfThreadInfo', matches: (r) => r === 'qfThreadInfo', reply: () => CAPTURED[8]! },
  { kind: 'qsThreadInfo', matches: (r) => r === 'qsThreadInfo', reply: () => CAPTURED[9]! },
  { kind: 'qThreadExtraInfo', matches: (r) => r.startsWith('qThreadExtraInfo'), reply: () => CAPTURED[12]! },
  { kind: 'qC', matches: (r) => r === 'qC', reply: () => CAPTURED[11]! },
  { kind: 'OK', matches: (r) => /^(H|T|Z|z|D|qRcmd)/.test(r), reply: () => 'OK' },
];

/** A stub on an in-memory duplex: acks, then the script's (perhaps replaced) reply to each request. */
function scriptedStub(replaced: Map<string, string>): Duplex {
  const toStub = new PassThrough();
  const toClient = new PassThrough();
  const decoder = new PacketDecoder();
  toStub.on('data', (chunk: Buffer) => {
    for (const e of decoder.feed(chunk)) {
      if (e.type !== 'packet') continue;
      const req = e.payload.toString('latin1');
      const step = SCRIPT.find((s) => s.matches(req));
      const reply = step ? (replaced.get(step.kind) ?? step.reply(req)) : '';
      toClient.write('+');
      toClient.write(encodePacket(reply));
    }
  });
  return Duplex.from({ readable: toClient, writable: toStub });
}

/** Replies to replace: per request kind, a mutation of QEMU's reply. */
const replacements = fc
  .uniqueArray(fc.constantFrom(...SCRIPT.map((s) => s.kind)), { minLength: 1, maxLength: 3 })
  .chain((kinds) => fc.tuple(...kinds.map((k) => mutatedTextFrom([SCRIPT.find((s) => s.kind === k)!.reply('qXfer:features:read:i386-64bit.xml:0,7fd')], 4).map((r) => [k, r] as [string, string]))))
  .map((pairs) => new Map(pairs));

const SAYS = /stub|reply|target description|thread|register|hex|memory|Cannot access|\.xml/i;

export const rspConversationProperties: FuzzProperty[] = [
  {
    ...property('RSP conversation (GdbRemoteTarget)', 'a real QEMU conversation with mutated replies: attach, g, m and the thread list succeed or fail in one line', replacements, async (replaced) => {
    const stream = scriptedStub(replaced);
    const target = await parsedOrRejectedAsync(() => GdbRemoteTarget.connect(stream, { timeoutMs: 10, name: 'fuzz stub' }), SAYS);
    if (!target) {
      stream.destroy();
      return;
    }
    try {
      const regs = await parsedOrRejectedAsync(() => target.readRegisters(), SAYS);
      if (regs) for (const name of regs.names()) assert.ok((regs.get(name) ?? 0n) >= 0n, name);
      const bytes = await parsedOrRejectedAsync(() => target.readMemory(0xfff0n, 64), SAYS);
      if (bytes) assert.equal(bytes.length, 64);
      await parsedOrRejectedAsync(() => target.threads(), SAYS);
    } finally {
      target.close();
      stream.destroy();
    }
  }),
    // A stop reply where the monitor probe's answer belongs held the attach for 30 s (its own timeout).
    examples: [
      new Map([['m', '0'.repeat(128)], ['OK', 'S00\u0000OK']]),
      // A description whose chunks never end, and a thread list that repeats itself, once looped (for ever, or 100,000 times).
      new Map([['i386-64bit.xml', 'm<']]),
      new Map([['qsThreadInfo', 'mp01.01']]),
    ],
  },
];
