import { FormatError } from '../../errors.js';
import type { KallsymsBytes, KallsymsTables } from './kallsyms-tables.js';
import { tokenStrings } from './kallsyms-token-table.js';

/** One kallsyms entry, as /proc/kallsyms shows it. */
export interface KallsymsSymbol {
  name: string;
  /** The nm-style type letter (T t D d B b R r A W w V v …). */
  type: string;
  address: bigint;
  /** An absolute value under ABSOLUTE_PERCPU: a per-CPU offset, which KASLR does not move. */
  perCpu: boolean;
}

/** The tables' contents, each cut to its own length. */
export interface KallsymsContents {
  numSyms: number;
  relativeBase: bigint;
  offsets: Buffer;
  names: Buffer;
  markers: Buffer;
  tokenTable: Buffer;
  tokenIndex: Buffer;
}

/** seqs_of_names stores indexes in 24 bits, so no kernel has more symbols. */
export const MAX_SYMBOLS = 1 << 24;
/** Sanity bounds on what a table address pair may span before anything is read. */
const MAX_NAMES_BYTES = 256 << 20;
const MAX_TOKEN_TABLE_BYTES = 256 * 1024;

/** Reads the tables through `bytes` (an image or guest memory) and decodes every symbol. */
export async function decodeKallsyms(tables: KallsymsTables, bytes: KallsymsBytes): Promise<KallsymsSymbol[]> {
  const span = (from: bigint, to: bigint, max: number, what: string): number => {
    const n = to - from;
    if (n < 0n || n > BigInt(max)) throw new FormatError(bytes.name, from, `${what} would span ${n} bytes (0x${from.toString(16)}..0x${to.toString(16)}): not kallsyms tables`);
    return Number(n);
  };
  const numSyms = (await bytes.read(tables.numSyms, 4)).readUInt32LE(0);
  if (numSyms === 0 || numSyms > MAX_SYMBOLS) throw new FormatError(bytes.name, tables.numSyms, `kallsyms_num_syms is ${numSyms}: not kallsyms tables`);
  const contents: KallsymsContents = {
    numSyms,
    relativeBase: (await bytes.read(tables.relativeBase, 8)).readBigUInt64LE(0),
    offsets: await bytes.read(tables.offsets, 4 * numSyms),
    names: await bytes.read(tables.names, span(tables.names, tables.markers, MAX_NAMES_BYTES, 'kallsyms_names')),
    markers: await bytes.read(tables.markers, 4 * markerCount(numSyms)),
    tokenTable: await bytes.read(tables.tokenTable, span(tables.tokenTable, tables.tokenIndex, MAX_TOKEN_TABLE_BYTES, 'kallsyms_token_table')),
    tokenIndex: await bytes.read(tables.tokenIndex, 512),
  };
  return decodeKallsymsContents(contents, bytes.name, tables);
}

export function markerCount(numSyms: number): number {
  return (numSyms + 255) >>> 8;
}

/**
 * Every symbol, checked strictly on the way (a candidate the locator tries is rejected here):
 * names decode to exactly num_syms entries ending at the markers, every 256th starts where its
 * marker says, and the text symbols' addresses ascend (kallsyms sorts by address).
 */
export function decodeKallsymsContents(c: KallsymsContents, file: string, at: KallsymsTables): KallsymsSymbol[] {
  const tokenLengths = Int32Array.from(tokenStrings(c.tokenTable, c.tokenIndex, file, at), (t) => t.length);
  const tokenStarts = Int32Array.from({ length: 256 }, (_, b) => c.tokenIndex.readUInt16LE(2 * b));
  const { names, markers, numSyms, tokenTable } = c;
  // Expanded into one buffer and turned into one string, cut per symbol: far faster than
  // building 87k strings token by token.
  let text = Buffer.alloc(Math.max(64, names.length * 2));
  let end = 0;
  const starts = new Int32Array(numSyms + 1);
  let p = 0;
  for (let i = 0; i < numSyms; i++) {
    if ((i & 0xff) === 0 && markers.readUInt32LE((i >>> 8) * 4) !== p) {
      throw new FormatError(file, at.markers + BigInt((i >>> 8) * 4), `kallsyms marker ${i >>> 8} is ${markers.readUInt32LE((i >>> 8) * 4)}, but symbol ${i} starts at names offset ${p}`);
    }
    if (p >= names.length) throw new FormatError(file, at.names + BigInt(p), `kallsyms_names ends after ${i} of ${numSyms} symbols`);
    let len = names[p++]!;
    // "Big symbols" (6.1+): a length with the top bit set continues in a second byte, 7 bits each.
    if (len & 0x80) {
      if (p >= names.length) throw new FormatError(file, at.names + BigInt(p), `kallsyms_names ends inside symbol ${i}'s length`);
      len = (len & 0x7f) | (names[p++]! << 7);
    }
    if (len === 0 || p + len > names.length) throw new FormatError(file, at.names + BigInt(p), `kallsyms symbol ${i} has ${len} name bytes where ${names.length - p} remain`);
    starts[i] = end;
    for (let k = p; k < p + len; k++) {
      const b = names[k]!;
      const from = tokenStarts[b]!;
      const to = from + tokenLengths[b]!;
      if (end + to - from > text.length) text = Buffer.concat([text.subarray(0, end), Buffer.alloc(Math.max(text.length, to - from))]); // doubles
      for (let j = from; j < to; j++) text[end++] = tokenTable[j]!;
    }
    if (end - starts[i]! < 2) throw new FormatError(file, at.names + BigInt(p - 1), `kallsyms symbol ${i} expands to ${end - starts[i]!} characters: no type letter and name`);
    p += len;
  }
  starts[numSyms] = end;
  const all = text.toString('latin1', 0, end);
  // The names end at the markers but for alignment padding (zeros).
  if (names.length - p >= 8 || names.subarray(p).some((b) => b !== 0)) {
    throw new FormatError(file, at.names + BigInt(p), `kallsyms_names has ${names.length - p} bytes left after ${numSyms} symbols`);
  }
  const absolutePercpu = usesAbsolutePercpu(c.offsets, numSyms);
  const base = c.relativeBase;
  const symbols = new Array<KallsymsSymbol>(numSyms);
  let lastText = -1;
  for (let i = 0; i < numSyms; i++) {
    const off = c.offsets.readInt32LE(4 * i);
    const perCpu = absolutePercpu && off >= 0;
    const address = perCpu ? BigInt(off) : BigInt.asUintN(64, absolutePercpu ? base - 1n - BigInt(off) : base + BigInt(off >>> 0));
    const type = all[starts[i]!]!;
    const name = all.slice(starts[i]! + 1, starts[i + 1]!);
    if (type === 't' || type === 'T') {
      if (lastText >= 0 && address < symbols[lastText]!.address) {
        throw new FormatError(file, at.offsets + BigInt(4 * i), `kallsyms text symbol ${name} at 0x${address.toString(16)} is below the one before it: wrong offsets or relative_base`);
      }
      lastText = i;
    }
    symbols[i] = { name, type, address, perCpu };
  }
  return symbols;
}

/**
 * Whether offsets use ABSOLUTE_PERCPU (x86-64 up to ~6.15): there an offset >= 0 is an absolute
 * value (a per-CPU symbol) and a negative one means relative_base - 1 - off; without it every
 * offset is an unsigned distance above relative_base. Which one a kernel used is not recorded,
 * but it shows: without it relative_base is the lowest address and an image is far below 2 GiB,
 * so no offset has the sign bit set; with it every non-per-CPU symbol does. The ascending-text
 * check in the caller catches a wrong guess.
 */
function usesAbsolutePercpu(offsets: Buffer, numSyms: number): boolean {
  for (let i = 0; i < numSyms; i++) if (offsets.readInt32LE(4 * i) < 0) return true;
  return false;
}
