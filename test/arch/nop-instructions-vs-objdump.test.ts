import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../support/own-resources.js';
import { nopLength } from '../../src/arch/x86_64/nop-instructions.js';

const NOPS = [
  '90', '6690', '0f1f00', '0f1f4000', '0f1f440000', '660f1f440000', '0f1f8000000000', '0f1f840000000000', '660f1f840000000000', 'f30f1efa',
];

test('the NOP forms the kernel uses are recognised with the lengths objdump gives them', () => {
  // objdump is the oracle for the lengths: disassemble all of them at once.
  const dir = scratchDir('kdive-nop-');
  const file = path.join(dir, 'code.bin');
  writeFileSync(file, Buffer.from(NOPS.join(''), 'hex'));
  const listing = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', file], { encoding: 'utf8' });
  // Instruction starts are the lines with a mnemonic (objdump wraps long encodings onto more lines).
  const starts = [...listing.matchAll(/^\s+([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t\S/gm)].map((m) => parseInt(m[1]!, 16));
  const total = NOPS.join('').length / 2;
  const lengths = starts.map((s, i) => (starts[i + 1] ?? total) - s);
  assert.deepEqual(NOPS.map((h) => nopLength(Buffer.from(`${h}cc`, 'hex'))), lengths);
});
