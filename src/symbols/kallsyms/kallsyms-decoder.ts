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
  const tokens = tokenStrings(c.tokenTable, c.tokenIndex, file, at);
  const { names, markers, numSyms } = c;
  const typeLetters = new Array<string>(numSyms);
  const symbolNames = new Array<string>(numSyms);
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
    let text = tokens[names[p]!]!;
    for (let k = p + 1; k < p + len; k++) text += tokens[names[k]!]!;
    p += len;
    if (text.length < 2) throw new FormatError(file, at.names + BigInt(p - len), `kallsyms symbol ${i} expands to "${text}": no type letter and name`);
    typeLetters[i] = text[0]!;
    symbolNames[i] = text.slice(1);
  }
  // The names end at the markers but for alignment padding (zeros).
  if (names.length - p >= 8 || names.subarray(p).some((b) => b !== 0)) {
    throw new FormatError(file, at.names + BigInt(p), `kallsyms_names has ${names.length - p} bytes left after ${numSyms} symbols`);
  }
  const addresses = symbolAddresses(c.offsets, numSyms, c.relativeBase);
  const symbols = new Array<KallsymsSymbol>(numSyms);
  let lastText = -1;
  for (let i = 0; i < numSyms; i++) {
    const { address, perCpu } = addresses(i);
    const type = typeLetters[i]!;
    if (type === 't' || type === 'T') {
      if (lastText >= 0 && address < symbols[lastText]!.address) {
        throw new FormatError(file, at.offsets + BigInt(4 * i), `kallsyms text symbol ${symbolNames[i]} at 0x${address.toString(16)} is below the one before it: wrong offsets or relative_base`);
      }
      lastText = i;
    }
    symbols[i] = { name: symbolNames[i]!, type, address, perCpu };
  }
  return symbols;
}

/**
 * Address of symbol i. Two encodings exist: with ABSOLUTE_PERCPU (x86-64 up to ~6.15) an offset
 * >= 0 is an absolute value (a per-CPU symbol) and a negative one means relative_base - 1 - off;
 * without it every offset is an unsigned distance above relative_base. Which one a kernel used is
 * not recorded, but it shows: relative_base is then the lowest address, and an image is far below
 * 2 GiB, so no offset has the sign bit set; with ABSOLUTE_PERCPU every non-per-CPU symbol does.
 * The ascending-text check in the caller catches a wrong guess.
 */
function symbolAddresses(offsets: Buffer, numSyms: number, base: bigint): (i: number) => { address: bigint; perCpu: boolean } {
  let absolutePercpu = false;
  for (let i = 0; i < numSyms && !absolutePercpu; i++) absolutePercpu = offsets.readInt32LE(4 * i) < 0;
  const mask = 0xffff_ffff_ffff_ffffn;
  if (!absolutePercpu) return (i) => ({ address: (base + BigInt(offsets.readUInt32LE(4 * i))) & mask, perCpu: false });
  return (i) => {
    const off = offsets.readInt32LE(4 * i);
    return off >= 0 ? { address: BigInt(off), perCpu: true } : { address: (base - 1n - BigInt(off)) & mask, perCpu: false };
  };
}
