import { open } from 'node:fs/promises';
import { KdiveError } from '../errors.js';

/** Reads `length` bytes at an address into `into` (its first `length` bytes). */
export type ChunkReader = (address: bigint, length: number, into: Buffer) => Promise<unknown>;

const CHUNK = 1 << 20;

/**
 * gdb's `dump binary memory FILE START END`: the range written to FILE a chunk at a time through
 * one reused buffer, so a large dump costs the reads and the writes, not fresh memory for all of it.
 */
export async function dumpMemory(read: ChunkReader, start: bigint, end: bigint, file: string): Promise<number> {
  if (end < start) throw new KdiveError(`dump: the end 0x${end.toString(16)} is below the start 0x${start.toString(16)}`);
  const fh = await open(file, 'w').catch((err: Error) => {
    throw new KdiveError(`dump: cannot write ${file}: ${err.message}`);
  });
  try {
    const buf = Buffer.allocUnsafe(Number(end - start < BigInt(CHUNK) ? end - start : BigInt(CHUNK)));
    for (let at = start; at < end; ) {
      const n = Number(end - at < BigInt(buf.length) ? end - at : BigInt(buf.length));
      await read(at, n, buf);
      await fh.write(buf, 0, n);
      at += BigInt(n);
    }
    return Number(end - start);
  } finally {
    await fh.close();
  }
}
