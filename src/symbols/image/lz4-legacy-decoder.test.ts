import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../errors.js';
import { decodeLz4Legacy } from './lz4-legacy-decoder.js';
import { encodeLz4Block, encodeLz4Legacy, u32le, withSizeWord } from '../../../test/support/bzimage-writer.js';

const MAGIC = Buffer.from([0x02, 0x21, 0x4c, 0x18]);

/** A legacy frame around hand-written blocks. */
function frame(...blocks: number[][]): Buffer {
  return Buffer.concat([MAGIC, ...blocks.flatMap((b) => [u32le(b.length), Buffer.from(b)])]);
}

/** A FormatError on one line whose message names `offset` in hex. */
function formatErrorAt(offset: number) {
  return (err: unknown) => err instanceof FormatError && err.message.includes(`at offset 0x${offset.toString(16)}:`) && !err.message.includes('\n');
}

/** Text with repeats far apart (long non-overlapping matches), runs of one byte (offset-1 matches) and noise. */
function compressibleSample(): Buffer {
  const phrase = Buffer.from('the quick brown fox jumps over the lazy dog; ');
  const parts: Buffer[] = [];
  for (let i = 0; i < 400; i++) parts.push(phrase, Buffer.from(`#${i * 7919}`), Buffer.alloc(i % 50, 0x41 + (i % 26)));
  return Buffer.concat(parts);
}

test('literals, an overlapping match and an offset-1 run decode from hand-written blocks', () => {
  // "abcd", then a match at offset 4 of length 8 (copies "abcdabcd", overlapping), then "xyz" literals.
  const overlapping = [0x44, ...Buffer.from('abcd'), 0x04, 0x00, 0x30, ...Buffer.from('xyz')];
  // "Z" then a match at offset 1 of length 4 + 15 + 6 = 25: a run of Zs, then ".".
  const run = [0x1f, 0x5a, 0x01, 0x00, 0x06, 0x10, 0x2e];
  assert.equal(decodeLz4Legacy(frame(overlapping), 'f').toString('latin1'), 'abcdabcdabcdxyz');
  assert.equal(decodeLz4Legacy(frame(run), 'f').toString('latin1'), `${'Z'.repeat(26)}.`);
});

test('literal lengths of 15 and more use the 255-extension', () => {
  const text = Buffer.alloc(15 + 255 + 3, 0x61);
  for (let i = 0; i < text.length; i++) text[i] = 0x61 + (i % 26);
  const block = [0xf0, 255, 3, ...text];
  assert.deepEqual(decodeLz4Legacy(frame(block), 'f'), text);
});

test('round trip through the test encoder over many small blocks: matches do the work', () => {
  const data = compressibleSample();
  const stream = encodeLz4Legacy(data, 4096);
  assert.ok(stream.length < data.length / 3, `${stream.length} bytes from ${data.length}: the encoder found few matches`);
  assert.deepEqual(decodeLz4Legacy(stream, 'f'), data);
});

test('the uncompressed size the kernel appends after the last block stops the frame cleanly', () => {
  const data = compressibleSample();
  assert.deepEqual(decodeLz4Legacy(withSizeWord(encodeLz4Legacy(data), data.length), 'f'), data);
  // Fewer than 4 bytes left: not even a size word.
  assert.deepEqual(decodeLz4Legacy(Buffer.concat([encodeLz4Legacy(data), Buffer.from([1, 2])]), 'f'), data);
});

test('a second magic starts a concatenated frame, as the kernel reads it', () => {
  const a = Buffer.from('first frame, ');
  const b = Buffer.from('second frame');
  assert.equal(decodeLz4Legacy(Buffer.concat([encodeLz4Legacy(a), encodeLz4Legacy(b)]), 'f').toString(), 'first frame, second frame');
});

test('a block size past the end of the stream is a FormatError naming the size word\'s offset', () => {
  const stream = encodeLz4Legacy(compressibleSample());
  const cut = stream.subarray(0, stream.length - 10);
  assert.throws(() => decodeLz4Legacy(cut, 'vmlinuz', 0x5000), formatErrorAt(0x5004));
});

test('a match offset before the start of the output is a FormatError naming the block', () => {
  const block = [0x10, 0x61, 0x05, 0x00, 0x10, 0x62];
  assert.throws(() => decodeLz4Legacy(frame(block), 'vmlinuz', 0x100), (err: unknown) => formatErrorAt(0x108)(err) && /match offset 5 reaches before the start/.test((err as Error).message));
  const zero = [0x10, 0x61, 0x00, 0x00, 0x10, 0x62];
  assert.throws(() => decodeLz4Legacy(frame(zero), 'vmlinuz', 0x100), formatErrorAt(0x108));
});

test('literals past the end of the block, or a cut offset, are FormatErrors', () => {
  assert.throws(() => decodeLz4Legacy(frame([0x50, 0x61, 0x62]), 'f'), formatErrorAt(8));
  assert.throws(() => decodeLz4Legacy(frame([0x10, 0x61, 0x01]), 'f'), formatErrorAt(8));
  assert.throws(() => decodeLz4Legacy(frame([0xf0, 255, 255]), 'f'), formatErrorAt(8));
});

test('no magic, or a zero block size, is a FormatError', () => {
  assert.throws(() => decodeLz4Legacy(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0, 0, 0, 0]), 'f', 0x40), formatErrorAt(0x40));
  assert.throws(() => decodeLz4Legacy(Buffer.concat([MAGIC, u32le(0), Buffer.from([0x10, 0x61])]), 'f'), formatErrorAt(4));
});

test('corrupted streams fail with a FormatError or decode, never with another error', () => {
  const stream = encodeLz4Legacy(compressibleSample(), 4096);
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 2000; round++) {
    const bad = Buffer.from(stream);
    for (let k = 0; k <= random(4); k++) bad[4 + random(bad.length - 4)] = random(256);
    try {
      decodeLz4Legacy(round % 3 === 0 ? bad.subarray(0, random(bad.length)) : bad, 'f');
    } catch (err) {
      assert.ok(err instanceof FormatError, `round ${round}: ${(err as Error).stack}`);
    }
  }
});

test('the encoder in test/support writes blocks with overlapping matches', () => {
  // Guards the tests above: a run must come out as a short literal plus an offset-1 match.
  const block = encodeLz4Block(Buffer.concat([Buffer.alloc(64, 0x41), Buffer.from('end of the block')]));
  assert.ok(block.length < 30, `${block.length} bytes`);
  assert.equal(block[2], 0x01);
  assert.equal(block[3], 0x00);
});
