import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpMemory } from './memory-dump.js';

test('dumpMemory writes START..END through one reused buffer, in 1 MiB reads, the tail included', async () => {
  const memory = Buffer.from(Array.from({ length: (3 << 20) + 123 }, (_, i) => (i * 7) & 0xff));
  const base = 0xffff888000000000n;
  const reads: number[] = [];
  const buffers = new Set<Buffer>();
  const read = async (a: bigint, n: number, into: Buffer) => {
    reads.push(n);
    buffers.add(into);
    memory.copy(into, 0, Number(a - base), Number(a - base) + n);
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdive-dump-'));
  try {
    const file = path.join(dir, 'out.bin');
    assert.equal(await dumpMemory(read, base + 5n, base + BigInt(memory.length), file), memory.length - 5);
    assert.ok(readFileSync(file).equals(memory.subarray(5)));
    assert.deepEqual(reads, [1 << 20, 1 << 20, 1 << 20, 118]);
    assert.equal(buffers.size, 1);
    await assert.rejects(dumpMemory(read, base + 10n, base, file), /the end 0x.* is below the start/);
    await assert.rejects(dumpMemory(read, base, base + 1n, path.join(dir, 'no', 'such', 'dir')), /dump: cannot write/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
