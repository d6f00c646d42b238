/**
 * Builds the kernel's kallsyms tables for the fast tests, as scripts/kallsyms.c lays them out in
 * `.rodata`: token table with a token for every character used plus multi-character tokens in
 * the free byte values, names compressed greedily (with the 2-byte "big symbol" length past 127
 * bytes), markers, offsets with or without ABSOLUTE_PERCPU, relative_base, num_syms, and
 * seqs_of_names, in the 6.1 order (offsets first) or the 6.4 one (num_syms first).
 */
import type { KallsymsTables } from '../../src/symbols/kallsyms/index.js';
import { writeTinyElf } from './tiny-elf-writer.js';

export interface KallsymsEntry {
  name: string;
  /** nm type letter: T t D d B b R r W w V v A. */
  type: string;
  address: bigint;
  /** Stored as an absolute value (ABSOLUTE_PERCPU): a per-CPU offset. */
  perCpu?: boolean;
}

export interface KallsymsLayout {
  order?: KallsymsTables['order'];
  /** seqs_of_names (6.2+, and 6.1.192): between markers and token table in the offsets-first order. */
  seqs?: boolean;
  absolutePercpu?: boolean;
  /** Where `.rodata` is linked. */
  rodataAddress?: bigint;
  /** relative_base: `_text`. */
  textAddress?: bigint;
  /** Bytes of other read-only data before the tables (a decoy run of digit tokens among them). */
  before?: Buffer;
}

/** Multi-character tokens: what the compressor would pick for these names. */
const MULTI_TOKENS = ['do_', 'mkdir', 'at', 'entry_', 'SYSCALL_', 'current_', 'task', 'func_', 'Tfunc_', 'tfunc_', 'data_', '__'];

export function kallsymsTokens(): string[] {
  const tokens = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    // Printable bytes stand for themselves (as every character a name uses does in the kernel).
    if (b > 0x20 && b < 0x7f) tokens[b] = String.fromCharCode(b);
    else tokens[b] = MULTI_TOKENS[next++] ?? `zq${b.toString(16)}`;
  }
  return tokens;
}

function compress(text: string, tokens: string[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < text.length; ) {
    let best = text.charCodeAt(p);
    let bestLen = 1;
    tokens.forEach((t, b) => {
      if (t.length > bestLen && text.startsWith(t, p)) {
        best = b;
        bestLen = t.length;
      }
    });
    out.push(best);
    p += bestLen;
  }
  return out;
}

/** The tables, as the bytes of a `.rodata`, and where each is (link-time addresses). */
export function writeKallsyms(entries: KallsymsEntry[], layout: KallsymsLayout = {}): { rodata: Buffer; tables: KallsymsTables } {
  const order = layout.order ?? 'offsets-first';
  const rodataAddress = layout.rodataAddress ?? 0xffffffff82000000n;
  const base = layout.textAddress ?? 0xffffffff81000000n;
  const absolutePercpu = layout.absolutePercpu ?? true;
  const tokens = kallsymsTokens();
  const num = entries.length;

  const names: number[] = [];
  const markers = Buffer.alloc(4 * ((num + 255) >>> 8));
  entries.forEach((e, i) => {
    if (i % 256 === 0) markers.writeUInt32LE(names.length, 4 * (i >>> 8));
    const bytes = compress(e.type + e.name, tokens);
    if (bytes.length > 0x7f) names.push((bytes.length & 0x7f) | 0x80, bytes.length >> 7);
    else names.push(bytes.length);
    names.push(...bytes);
  });
  const offsets = Buffer.alloc(4 * num);
  entries.forEach((e, i) => {
    if (!absolutePercpu) offsets.writeUInt32LE(Number(e.address - base), 4 * i);
    else if (e.perCpu) offsets.writeInt32LE(Number(e.address), 4 * i);
    else offsets.writeInt32LE(Number(base - 1n - e.address), 4 * i);
  });
  const tokenTable = Buffer.from(tokens.map((t) => `${t}\0`).join(''), 'latin1');
  const tokenIndex = Buffer.alloc(512);
  let at = 0;
  tokens.forEach((t, b) => {
    tokenIndex.writeUInt16LE(at, 2 * b);
    at += t.length + 1;
  });
  const bySortedName = entries.map((_, i) => i).sort((a, b) => (entries[a]!.name < entries[b]!.name ? -1 : entries[a]!.name > entries[b]!.name ? 1 : 0));
  const seqs = Buffer.alloc(3 * num);
  bySortedName.forEach((i, k) => seqs.writeUIntBE(i, 3 * k, 3));
  const u64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
  const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };

  const parts: Buffer[] = [];
  let size = 0;
  type Label = Exclude<keyof KallsymsTables, 'order'>;
  const place: Partial<Record<Label, bigint>> = {};
  const put = (label: Label | undefined, bytes: Buffer): void => {
    const pad = (8 - (size % 8)) % 8; // ALGN: .balign 8
    parts.push(Buffer.alloc(pad));
    size += pad;
    if (label) place[label] = rodataAddress + BigInt(size);
    parts.push(bytes);
    size += bytes.length;
  };
  put(undefined, layout.before ?? Buffer.alloc(0));
  if (order === 'offsets-first') {
    put('offsets', offsets);
    put('relativeBase', u64(base));
    put('numSyms', u32(num));
    put('names', Buffer.from(names));
    put('markers', markers);
    if (layout.seqs) put('seqsOfNames', seqs);
    put('tokenTable', tokenTable);
    put('tokenIndex', tokenIndex);
  } else {
    put('numSyms', u32(num));
    put('names', Buffer.from(names));
    put('markers', markers);
    put('tokenTable', tokenTable);
    put('tokenIndex', tokenIndex);
    put('offsets', offsets);
    put('relativeBase', u64(base));
    if (layout.seqs ?? true) put('seqsOfNames', seqs);
  }
  put(undefined, Buffer.from('other read-only data after the tables\0'));
  return { rodata: Buffer.concat(parts), tables: { ...(place as Record<Label, bigint>), order } };
}

/** A tiny vmlinux: `.text` at relative_base, and `.rodata` holding the tables; no `.symtab`. */
export function writeKallsymsElf(rodata: Buffer, layout: KallsymsLayout = {}): Buffer {
  return writeTinyElf([
    { name: '.text', data: Buffer.alloc(0x1000, 0xcc), addr: layout.textAddress ?? 0xffffffff81000000n, flags: 6n },
    { name: '.rodata', data: rodata, addr: layout.rodataAddress ?? 0xffffffff82000000n, flags: 2n },
  ]);
}
