/** The GDB Remote Serial Protocol: framing, stop replies, hex, thread lists, qXfer chunks. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PacketDecoder, decodeHex, encodeHex, encodePacket, type DecodedEvent } from '../../../src/target/gdb-remote/packet-codec.js';
import { parseStopReply } from '../../../src/target/gdb-remote/stop-reply.js';
import { parseQxferReply, parseThreadListReply } from '../../../src/target/gdb-remote/list-replies.js';
import { parsedOrRejected, property, regressions, type FuzzProperty } from '../fuzz-property.js';
import { mutatedFrom, mutatedTextFrom } from '../mutation.js';
import { seed } from '../seeds/seeds.js';

const REPLIES = seed('rsp-qemu-replies.bin');
const REQUESTS = seed('rsp-qemu-requests.bin');

/** Every event of a byte stream delivered in the given pieces. */
function decodeInPieces(bytes: Buffer, cuts: number[]): DecodedEvent[] {
  const d = new PacketDecoder(4096);
  const out: DecodedEvent[] = [];
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    out.push(...d.feed(bytes.subarray(from, Math.max(from, cut))));
    from = Math.max(from, cut);
  }
  return out;
}

/** Events with stray bytes merged, as the connection sees them (a stray run may split at a cut). */
function normalised(events: DecodedEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const e of events) {
    const last = out[out.length - 1] as { type: string; bytes: Buffer } | undefined;
    if (e.type === 'stray' && last?.type === 'stray') last.bytes = Buffer.concat([last.bytes, e.bytes]);
    else out.push(e.type === 'stray' ? { type: 'stray', bytes: Buffer.from(e.bytes) } : e);
  }
  return out.map((e) => JSON.stringify(e));
}

const stream = fc.oneof(
  { weight: 3, arbitrary: mutatedFrom([REPLIES, REQUESTS]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
  // Protocol characters dense enough to make frames, escapes and runs.
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...'$#}*%+-\x030123456789abcdefOKT'.split('')), { maxLength: 300 }).map((a) => Buffer.from(a.join(''), 'latin1')) },
);

const hexDigits = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'.split('')), minLength, maxLength });
const threadId = fc.oneof(hexDigits(1, 16), fc.tuple(hexDigits(1, 4), hexDigits(1, 4)).map(([p, t]) => `p${p}.${t}`));

export const rspProperties: FuzzProperty[] = [
  property('RSP packet decoder', 'any bytes, cut anywhere: the same events as whole, never a throw', fc.tuple(stream, fc.array(fc.nat(), { maxLength: 8 })), ([bytes, cuts]) => {
    assert.deepEqual(normalised(decodeInPieces(bytes, cuts)), normalised(decodeInPieces(bytes, [])));
  }),
  property('RSP packet decoder', 'any payload framed by encodePacket decodes to itself, among other traffic', fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 4 })), ([payload, cuts]) => {
    const framed = Buffer.concat([Buffer.from('+'), encodePacket(Buffer.from(payload)), Buffer.from('-')]);
    const events = decodeInPieces(framed, cuts);
    assert.deepEqual(events.map((e) => e.type), ['ack', 'packet', 'nak']);
    assert.deepEqual((events[1] as { payload: Buffer }).payload, Buffer.from(payload));
  }),
  property('RSP stop reply', 'any reply text: a stop event or a TargetError naming the reply', fc.oneof(mutatedTextFrom(['T05thread:p01.01;', 'T02thread:01;06:0000000000000000;', 'S05', 'W00;process:1', 'X09', 'T05watch:ffffffff82001234;thread:p1.2;']), fc.string({ maxLength: 80 })), (reply) => {
    const event = parsedOrRejected(() => parseStopReply(reply), /stop reply/);
    if (event) assert.ok(['trap', 'interrupt', 'signal', 'exited', 'terminated', 'watchpoint'].includes(event.reason));
  }),
  property('RSP stop reply', 'a stop reply made from a model parses back to the model', fc.record({ signal: fc.integer({ min: 0, max: 255 }), thread: fc.option(threadId), watch: fc.option(fc.tuple(fc.constantFrom('watch', 'rwatch', 'awatch'), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))) }), (m) => {
    const fields = [m.thread !== null ? `thread:${m.thread}` : '', m.watch ? `${m.watch[0]}:${m.watch[1].toString(16)}` : ''].filter(Boolean);
    const e = parseStopReply(`T${m.signal.toString(16).padStart(2, '0')}${fields.map((f) => `${f};`).join('')}`);
    assert.equal(e.signal, m.signal);
    assert.equal(e.threadId, m.thread ?? undefined);
    assert.deepEqual(e.watch, m.watch ? { kind: m.watch[0], address: m.watch[1] } : undefined);
  }),
  property('RSP hex', 'any text: bytes or a TargetError; bytes encode back to the same text (case aside)', fc.oneof(fc.string({ maxLength: 40 }), hexDigits(0, 40)), (text) => {
    const bytes = parsedOrRejected(() => decodeHex(text), /hex string/);
    if (bytes) assert.equal(encodeHex(bytes), text.toLowerCase());
  }),
  property('RSP thread list', 'any reply: ids and an end flag, or a TargetError', fc.oneof(mutatedTextFrom(['mp01.01,p01.02', 'l', '', 'm1,2,3,fffffffffffffffe']), fc.string({ maxLength: 60 })), (reply) => {
    const r = parsedOrRejected(() => parseThreadListReply(reply), /thread (list|id)/);
    if (r && !r.done) assert.ok(r.ids.every((id) => id.length > 0 && !id.includes(',')));
  }),
  property('RSP qXfer chunk', 'any reply: data and a last flag, or a TargetError; never an empty m chunk (an endless loop)', fc.oneof(mutatedTextFrom(['l<target/>', 'm<?xml version="1.0"?>', 'E00', '']), fc.string({ maxLength: 60 })), (reply) => {
    const r = parsedOrRejected(() => parseQxferReply(reply, 'target.xml'), /target\.xml/);
    if (r && !r.last) assert.ok(r.data.length > 0);
  }),
];

// Inputs that broke these properties once (npm run fuzz, issue 23).
regressions(rspProperties, 'RSP stop reply: any reply text', ['T05watch:zz;', 'Q05', 'T0']);
regressions(rspProperties, 'RSP hex', ['zz', 'abc']);
