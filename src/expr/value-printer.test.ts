import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAR, INT, pointerTo, type CType } from './c-types.js';
import { fromScalar } from './c-value.js';
import { charArrayText, formatValue } from './value-printer.js';

const text = (s: string) => charArrayText(Buffer.from(s, 'latin1'));
const noMemory = { readMemory: async (a: bigint) => { throw new Error(`Cannot access memory at address 0x${a.toString(16)}`); }, symbolAt: () => undefined };
const bytesOf = (type: CType, bytes: Buffer) => formatValue({ type, bytes }, noMemory);

test("char arrays: one trailing NUL is the terminator, the rest are shown; runs over 10 become gdb's repeats", () => {
  assert.equal(text('swapper/0\0\0\0\0\0\0\0'), '"swapper/0\\000\\000\\000\\000\\000\\000"');
  assert.equal(text(`ab${'x'.repeat(15)}cd\0`), '"ab", \'x\' <repeats 15 times>, "cd"');
  assert.equal(text('a'.repeat(10)), `"${'a'.repeat(10)}"`);
  assert.equal(text('\0'.repeat(12)), "'\\000' <repeats 11 times>");
  assert.equal(text('\0'), '""');
});

test('escapes in strings: quote, backslash, named controls, octal for the rest', () => {
  assert.equal(text('a"b\\c\n\t\x1b\x7f\xff'), '"a\\"b\\\\c\\n\\t\\033\\177\\377"');
  assert.equal(text("it's"), '"it\'s"');
});

test("strings stop at gdb's 200 characters with an ellipsis", () => {
  const long = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join('');
  const out = text(long);
  assert.ok(out.endsWith('"...'), out.slice(-10));
  assert.equal(out.length, 200 + 2 + 3);
});

test('arrays of numbers: elements in braces, a long run of equal ones as repeats', async () => {
  const ints = (values: number[]) => {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    return b;
  };
  assert.equal(await bytesOf({ kind: 'array', element: INT, count: 16 }, Buffer.alloc(64)), '{0 <repeats 16 times>}');
  assert.equal(await bytesOf({ kind: 'array', element: INT, count: 4 }, ints([1, -2, 3, -4])), '{1, -2, 3, -4}');
  assert.equal(await bytesOf({ kind: 'array', element: INT, count: 13 }, ints([7, ...Array(11).fill(0), 7])), '{7, 0 <repeats 11 times>, 7}');
});

test('scalars: bool, char, enum names and an unnamed value, a pointer with its type, an unreadable char pointer', async () => {
  const bool: CType = { kind: 'int', name: '_Bool', size: 1, signed: false, char: false, bool: true };
  assert.equal(await formatValue(fromScalar(bool, 1n), noMemory), 'true');
  assert.equal(await formatValue(fromScalar(bool, 0n), noMemory), 'false');
  assert.equal(await formatValue(fromScalar(CHAR, 0x41n), noMemory), "65 'A'");
  assert.equal(await formatValue(fromScalar(CHAR, -1n), noMemory), "-1 '\\377'");
  const state: CType = { kind: 'enum', name: 'state', size: 4, signed: false, values: [{ name: 'RUNNING', value: 0n }, { name: 'SLEEPING', value: 1n }] };
  assert.equal(await formatValue(fromScalar(state, 1n), noMemory), 'SLEEPING');
  assert.equal(await formatValue(fromScalar(pointerTo(INT), 0x1000n), noMemory), '(int *) 0x1000');
  assert.equal(await formatValue(fromScalar(pointerTo(CHAR), 0x2000n), noMemory), '0x2000 <error: Cannot access memory at address 0x2000>');
  assert.equal(await formatValue(fromScalar(pointerTo(CHAR), 0n), noMemory), '0x0');
  assert.equal(await formatValue({ type: INT, missing: '<optimized out>' }, noMemory), '<optimized out>');
});
