import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, checksum, decodeHex, encodeHex, encodePacket, escapeBinary, unescapePayload, type DecodedEvent } from './packet-codec.js';

function decodeAll(chunks: (string | Buffer)[], max?: number): DecodedEvent[] {
  const d = new PacketDecoder(max);
  return chunks.flatMap((c) => [...d.feed(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)]);
}

const packets = (evs: DecodedEvent[]) => evs.filter((e) => e.type === 'packet').map((e) => (e as { payload: Buffer }).payload.toString('latin1'));

test('encodes the packets the reference lists byte for byte', () => {
  assert.equal(encodePacket('g').toString(), '$g#67');
  assert.equal(encodePacket('?').toString(), '$?#3f');
  assert.equal(encodePacket('vCont;c').toString(), '$vCont;c#a8');
  assert.equal(encodePacket('qfThreadInfo').toString(), '$qfThreadInfo#bb');
  assert.equal(encodePacket('OK').toString(), '$OK#9a');
});

test('escapes $ # } * in payloads and the checksum covers the escaped bytes', () => {
  const raw = Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x41]);
  const esc = escapeBinary(raw);
  assert.deepEqual([...esc], [0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x41]);
  const framed = encodePacket(raw);
  assert.equal(framed.toString('latin1').slice(-2), checksum(esc).toString(16).padStart(2, '0'));
  assert.deepEqual(decodeAll([framed]).map((e) => e.type), ['packet']);
  assert.deepEqual((decodeAll([framed])[0] as { payload: Buffer }).payload, raw);
});

test('decodes run-length encoding: X*n repeats X n-29 more times', () => {
  // '0* ' : ' ' is 32, so 3 more zeros.
  assert.equal(unescapePayload(Buffer.from('0* ')).toString(), '0000');
  const body = Buffer.from('ab*"c'); // '"' is 34 -> 5 more b's
  const framed = Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${checksum(body).toString(16).padStart(2, '0')}`)]);
  assert.deepEqual(packets(decodeAll([framed])), ['abbbbbbc']);
});

test('packets split across chunks and merged in one chunk decode the same', () => {
  const stream = '+$T02thread:01;#04$OK#9a';
  const whole = packets(decodeAll([stream]));
  assert.deepEqual(whole, ['T02thread:01;', 'OK']);
  for (let cut = 1; cut < stream.length; cut++) {
    assert.deepEqual(packets(decodeAll([stream.slice(0, cut), stream.slice(cut)])), whole, `cut at ${cut}`);
  }
  const bytewise = packets(decodeAll(stream.split('')));
  assert.deepEqual(bytewise, whole);
});

test('a bad checksum is reported, not delivered, and the next packet still decodes', () => {
  const evs = decodeAll(['$OK#00$OK#9a']);
  assert.equal(evs[0]!.type, 'bad-checksum');
  assert.deepEqual(packets(evs), ['OK']);
  const nonHex = decodeAll(['$OK#zz']);
  assert.equal(nonHex[0]!.type, 'bad-checksum');
});

test('stray bytes, acks, naks and the interrupt byte outside packets are told apart', () => {
  const evs = decodeAll(['xx+-\x03$OK#9ayy']);
  assert.deepEqual(evs.map((e) => e.type), ['stray', 'ack', 'nak', 'interrupt', 'packet', 'stray']);
});

test('a truncated packet followed by a new one resyncs on the new $', () => {
  const evs = decodeAll(['$m1000,4', '$OK#9a']);
  assert.deepEqual(packets(evs), ['OK']);
  assert.ok(evs.some((e) => e.type === 'stray'));
});

test('an oversize packet is dropped and decoding resumes at the next packet', () => {
  const big = `$${'a'.repeat(100)}#00`;
  const evs = decodeAll([big, '$OK#9a'], 50);
  assert.ok(evs.some((e) => e.type === 'oversize'));
  assert.deepEqual(packets(evs), ['OK']);
});

test('random garbage never throws, and a good packet after it is always found', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 300; round++) {
    const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
    const evs = decodeAll([junk, '$OK#9a']);
    assert.equal(packets(evs).at(-1), 'OK', `round ${round}: ${junk.toString('hex')}`);
  }
});

test('garbage biased to framing bytes, cut at random points, still resyncs on the next good packet', () => {
  let seed = 777;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = Buffer.from('$#}*%+-\x030aF9', 'latin1');
  for (let round = 0; round < 500; round++) {
    const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]!));
    const stream = Buffer.concat([junk, encodePacket('T05thread:01;'), encodePacket(Buffer.from([0x24, 0x7d, 0x23, 0x2a]))]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = 1 + Math.floor(rand() * 8);
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    const got = packets(decodeAll(chunks));
    assert.deepEqual(got.slice(-2), ['T05thread:01;', '$}#*'], `round ${round}: ${junk.toString('latin1')}`);
  }
});

test('a frame cut short at its checksum gives way to the next packet', () => {
  assert.deepEqual(packets(decodeAll(['$m10,4#', '$OK#9a'])), ['OK']);
  assert.deepEqual(packets(decodeAll(['$m10,4#1$OK#9a'])), ['OK']);
});

test('an oversize packet arriving in pieces is reported once and the next packet decodes', () => {
  const body = 'a'.repeat(300);
  const frame = `$${body}#${checksum(Buffer.from(body)).toString(16).padStart(2, '0')}`;
  const chunks: string[] = [];
  for (let at = 0; at < frame.length; at += 37) chunks.push(frame.slice(at, at + 37));
  const evs = decodeAll([...chunks, '$OK#9a'], 100);
  assert.equal(evs.filter((e) => e.type === 'oversize').length, 1);
  assert.deepEqual(packets(evs), ['OK']);
  // The same frame within the limit decodes.
  assert.deepEqual(packets(decodeAll(chunks, 1000)), [body]);
});

test('notification frames (%) are flagged, and an escaped byte at the end of a frame is kept', () => {
  const body = Buffer.from('Stop:T05');
  const evs = decodeAll([Buffer.concat([Buffer.from('%'), body, Buffer.from(`#${checksum(body).toString(16).padStart(2, '0')}`)])]);
  assert.deepEqual(evs.map((e) => e.type === 'packet' && e.notification), [true]);
  assert.deepEqual([...unescapePayload(Buffer.from('a}'))], [0x61, 0x7d]);
});

test('encodeHex and decodeHex round-trip every byte value', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(decodeHex(encodeHex(all)), all);
  assert.equal(decodeHex('ABcd').toString('hex'), 'abcd');
});

test('hex decoding is strict', () => {
  assert.deepEqual([...decodeHex('00ff10')], [0, 255, 16]);
  assert.throws(() => decodeHex('abc'), /not a hex string/);
  assert.throws(() => decodeHex('zz'), /not a hex string/);
});

test('string payloads frame the same whether or not they need escapes (the one-buffer path for plain requests)', () => {
  // The reference: escape, checksum, frame, done byte by byte.
  const slow = (p: string) => {
    const body = escapeBinary(Buffer.from(p, 'latin1'));
    return Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${checksum(body).toString(16).padStart(2, '0')}`)]);
  };
  const samples = ['', 'g', 'mffffffff81000000,7f0', 'vCont;c', 'Z0,ffffffff8134d7c0,1', 'qSupported:multiprocess+;xmlRegisters=i386', 'M1000,2:7d23', 'X10,2:}#', 'a*b$c', '\xff\xfe\x80'];
  for (let i = 0; i < 200; i++) samples.push(String.fromCharCode(...Array.from({ length: i % 37 }, (_, k) => (i * 53 + k * 17) % 256)));
  for (const p of samples) assert.deepEqual(encodePacket(p), slow(p), JSON.stringify(p));
  const decoder = new PacketDecoder();
  const payloads = [...decoder.feed(Buffer.concat(samples.map((p) => encodePacket(p))))].map((e) => (e.type === 'packet' ? e.payload.toString('latin1') : `<${e.type}>`));
  assert.deepEqual(payloads, samples);
});
