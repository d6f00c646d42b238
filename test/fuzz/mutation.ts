/**
 * Mutations of real inputs: a seed (real bytes kept in test/fuzz/seeds/) with a few edits,
 * as coverage-blind fuzzers do: flip a bit, set a byte or a word to a value parsers trip on,
 * cut the tail, delete or duplicate a range, splice in bytes of another seed.
 */
import fc from 'fast-check';

/** Values that tend to break length and offset arithmetic. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x23, 0x24, 0x7d, 0x2a];
const INTERESTING_WORDS = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0xffff];

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'word'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'splice'; at: number; from: number; fromAt: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

/**
 * `at` is a fraction of the input's length, so an edit means something on any seed. Uniform:
 * fc.double leans to 0 and the special values, which put most edits on a seed's first bytes (magic numbers).
 */
const where = fc.integer({ min: 0, max: 0x7fffffff }).map((n) => n / 0x80000000);

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: where, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: where, value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('word' as const), at: where, value: fc.constantFrom(...INTERESTING_WORDS) }),
  fc.record({ kind: fc.constant('truncate' as const), at: where }),
  fc.record({ kind: fc.constant('delete' as const), at: where, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: where, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: where, from: fc.nat(), fromAt: where, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: where, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function apply(input: Buffer, e: Edit, seeds: readonly Buffer[]): Buffer {
  const at = Math.floor(e.at * input.length);
  switch (e.kind) {
    case 'flip':
      if (input.length === 0) return input;
      input[at] = input[at]! ^ (1 << e.bit);
      return input;
    case 'byte':
      if (input.length === 0) return input;
      input[at] = e.value;
      return input;
    case 'word':
      if (input.length < 4) return input;
      input.writeUInt32LE(e.value >>> 0, Math.min(at, input.length - 4));
      return input;
    case 'truncate':
      return input.subarray(0, at);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + e.length)]);
    case 'duplicate':
      return Buffer.concat([input.subarray(0, at + e.length), input.subarray(at, at + e.length), input.subarray(at + e.length)]);
    case 'splice': {
      const other = seeds[e.from % seeds.length]!;
      const from = Math.floor(e.fromAt * other.length);
      return Buffer.concat([input.subarray(0, at), other.subarray(from, from + e.length), input.subarray(at)]);
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.from(e.bytes), input.subarray(at)]);
  }
}

/** A seed with 1 to `maxEdits` edits; sometimes the seed itself, so the valid path stays covered. */
export function mutatedFrom(seeds: readonly Buffer[], maxEdits = 6): fc.Arbitrary<Buffer> {
  return fc
    .record({ seed: fc.nat({ max: seeds.length - 1 }), edits: fc.array(edit, { minLength: 0, maxLength: maxEdits }) })
    .map(({ seed, edits }) => edits.reduce<Buffer>((b, e) => apply(b, e, seeds), Buffer.from(seeds[seed]!)));
}

/** Mutations of a text seed, as latin1 text (protocol text: RSP payloads, XML, QMP lines). */
export function mutatedTextFrom(seeds: readonly string[], maxEdits = 6): fc.Arbitrary<string> {
  return mutatedFrom(seeds.map((s) => Buffer.from(s, 'latin1')), maxEdits).map((b) => b.toString('latin1'));
}
