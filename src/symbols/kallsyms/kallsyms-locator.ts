import { FormatError, NotFoundError } from '../../errors.js';
import { SHF_ALLOC, SHT_NOBITS, PT_LOAD, type ElfFile, type ElfSection } from '../elf/elf-file.js';
import { decodeKallsyms, markerCount, MAX_SYMBOLS, type KallsymsSymbol } from './kallsyms-decoder.js';
import type { KallsymsBytes, KallsymsTables } from './kallsyms-tables.js';
import { findTokenTables, type TokenTablePlace } from './kallsyms-token-table.js';
import { alignDown, alignUp } from './table-alignment.js';

const SHF_EXECINSTR = 4n;
const PF_X = 1;
/** The most bytes one compressed name takes: a 2-byte length and KSYM_NAME_LEN (512) tokens. */
const MAX_NAME_BYTES = 514;
/** `.balign 8` on 64-bit kernels; 4 only for a 32-bit one. */
const ALIGNMENTS = [8, 4];

export interface LocatedKallsyms {
  tables: KallsymsTables;
  /** Every symbol: telling a right candidate from a wrong one takes decoding it all anyway. */
  symbols: KallsymsSymbol[];
}

/**
 * Finds the kallsyms tables in an image's `.rodata` without its symbol table (vmlinux-to-elf
 * style): the token table by its run of digit tokens, then the rest around it in either order
 * scripts/kallsyms.c has used:
 *   up to 6.3: offsets, relative_base, num_syms, names, markers, [seqs_of_names], token_table, token_index
 *   6.4+:      num_syms, names, markers, token_table, token_index, offsets, relative_base, seqs_of_names
 * (seqs_of_names arrived in 6.2 and was backported to 6.1.192). Each candidate must decode
 * strictly (see decodeKallsymsContents) with relative_base inside the image's code.
 */
export async function locateKallsyms(elf: ElfFile): Promise<LocatedKallsyms> {
  const rodata = elf.section('.rodata');
  if (!rodata || rodata.type === SHT_NOBITS) throw new NotFoundError(`${elf.path}: no .rodata section to look for kallsyms in`);
  const data = await elf.readSection(rodata);
  const code = codeRange(elf);
  const bytes = sectionBytes(elf.path, rodata, data);
  let tokenTables = 0;
  for (const align of ALIGNMENTS) {
    const region: Region = { data, align, baseMod: Number(rodata.addr % 8n), base: rodata.addr };
    for (const tokens of findTokenTables(data, align, region.baseMod)) {
      tokenTables++;
      for (const tables of candidateTables(region, tokens)) {
        const relativeBase = data.readBigUInt64LE(Number(tables.relativeBase - rodata.addr));
        if (code && (relativeBase < code.start || relativeBase >= code.end)) continue;
        try {
          return { tables, symbols: await decodeKallsyms(tables, bytes) };
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
        }
      }
    }
  }
  const where = `.rodata (0x${rodata.addr.toString(16)}, ${data.length} bytes)`;
  throw new NotFoundError(tokenTables === 0
    ? `${elf.path}: no kallsyms token table (the tokens "0".."9" in a row) in ${where}`
    : `${elf.path}: ${tokenTables} kallsyms token table(s) in ${where}, but no markers, names, num_syms and offsets around them decode consistently`);
}

/** The searched bytes and where they sit: `data[0]` is at `base`, ≡ `baseMod` modulo 8. */
interface Region {
  data: Buffer;
  align: number;
  baseMod: number;
  base: bigint;
}

/** kallsyms_markers: `count` entries at `markers`, for between numLo and numHi symbols. */
interface MarkersPlace {
  markers: number;
  count: number;
  numLo: number;
  numHi: number;
  seqs?: number;
}

interface NamesPlace {
  names: number;
  numSyms: number;
  num: number;
}

function* candidateTables(r: Region, tokens: TokenTablePlace): Generator<KallsymsTables> {
  const at = (offset: number): bigint => r.base + BigInt(offset);
  for (const markers of markersPlaces(r, tokens.tokenTable)) {
    for (const names of namesPlaces(r, markers)) {
      for (const order of ['offsets-first', 'num-syms-first'] as const) {
        const place = offsetsPlace(r, order, names, tokens);
        if (!place) continue;
        const seqs = order === 'offsets-first' ? markers.seqs : place.seqs;
        yield {
          offsets: at(place.offsets),
          relativeBase: at(place.relativeBase),
          numSyms: at(names.numSyms),
          names: at(names.names),
          markers: at(markers.markers),
          tokenTable: at(tokens.tokenTable),
          tokenIndex: at(tokens.tokenIndex),
          ...(seqs !== undefined ? { seqsOfNames: at(seqs) } : {}),
          order,
        };
      }
    }
  }
}

/**
 * Where kallsyms_markers may be, ending just before the token table or before a seqs_of_names
 * table there. markers[0] is 0 and the rest increase (names offsets of every 256th symbol).
 */
function* markersPlaces(r: Region, tokenTable: number): Generator<MarkersPlace> {
  const { data, align, baseMod } = r;
  const u32 = (o: number): number => data.readUInt32LE(o);
  // Right before the token table: walk back from the last entry (after up to 4 bytes of
  // padding) through decreasing values to the 0 of markers[0].
  for (const pad of [0, 4]) {
    const last = tokenTable - pad - 4;
    if (last < 0 || (pad > 0 && u32(tokenTable - 4) !== 0) || alignUp(last + 4, align, baseMod) !== tokenTable) continue;
    let first = last;
    while (first >= 0 && u32(first) !== 0 && (first === last || u32(first) < u32(first + 4))) first -= 4;
    if (first < 0 || u32(first) !== 0 || alignUp(first, align, baseMod) !== first) continue;
    const count = (last - first) / 4 + 1;
    yield { markers: first, count, numLo: (count - 1) * 256 + 1, numHi: count * 256 };
  }
  // Before seqs_of_names (3 bytes a symbol): its length fixes the markers' place for each count.
  const maxNum = Math.min(MAX_SYMBOLS, Math.floor(tokenTable / 3));
  for (let num = 1; num <= maxNum; num++) {
    const seqs = alignDown(tokenTable - 3 * num, align, baseMod);
    const count = markerCount(num);
    const markers = alignDown(seqs - 4 * count, align, baseMod);
    if (markers < 0) break;
    if (u32(markers) !== 0 || alignUp(markers + 4 * count, align, baseMod) !== seqs || !increasing(data, markers, count)) continue;
    yield { markers, count, numLo: num, numHi: num, seqs };
  }
}

function increasing(data: Buffer, at: number, count: number): boolean {
  for (let i = 1; i < count; i++) if (data.readUInt32LE(at + 4 * i) <= data.readUInt32LE(at + 4 * (i - 1))) return false;
  return true;
}

/**
 * Where kallsyms_names may start: it ends at the markers, its last marker's symbol block takes 2
 * to MAX_NAME_BYTES bytes a symbol, and kallsyms_num_syms, right before it, holds the count.
 */
function* namesPlaces(r: Region, m: MarkersPlace): Generator<NamesPlace> {
  const { data, align, baseMod } = r;
  const lastMarker = data.readUInt32LE(m.markers + 4 * (m.count - 1));
  const inLastBlock = (num: number): number => num - 256 * (m.count - 1);
  const newest = alignDown(m.markers - lastMarker - 2 * inLastBlock(m.numLo), align, baseMod);
  const oldest = Math.max(align, m.markers - lastMarker - MAX_NAME_BYTES * inLastBlock(m.numHi) - align);
  for (let names = newest; names >= oldest; names -= align) {
    const num = data.readUInt32LE(names - align);
    if (num >= m.numLo && num <= m.numHi) yield { names, numSyms: names - align, num };
  }
}

/** Where kallsyms_offsets and kallsyms_relative_base are in the given order, if they fit. */
function offsetsPlace(r: Region, order: KallsymsTables['order'], n: NamesPlace, tokens: TokenTablePlace): { offsets: number; relativeBase: number; seqs?: number } | undefined {
  const { data, align, baseMod } = r;
  if (order === 'offsets-first') {
    const relativeBase = n.numSyms - 8;
    const offsets = alignDown(relativeBase - 4 * n.num, align, baseMod);
    if (offsets < 0 || alignUp(offsets + 4 * n.num, align, baseMod) !== relativeBase) return undefined;
    return { offsets, relativeBase };
  }
  const offsets = alignUp(tokens.tokenIndex + 512, align, baseMod);
  const relativeBase = alignUp(offsets + 4 * n.num, align, baseMod);
  if (relativeBase + 8 > data.length) return undefined;
  const seqs = alignUp(relativeBase + 8, align, baseMod);
  return seqs + 3 * n.num <= data.length ? { offsets, relativeBase, seqs } : { offsets, relativeBase };
}

/** The addresses the image's code spans: relative_base is `_text`, inside it. */
function codeRange(elf: ElfFile): { start: bigint; end: bigint } | undefined {
  const spans = elf.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0n && (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0).map((s) => ({ start: s.addr, end: s.addr + BigInt(s.size) }));
  if (spans.length === 0) {
    for (const p of elf.programHeaders) if (p.type === PT_LOAD && (p.flags & PF_X) !== 0 && p.memsz > 0) spans.push({ start: p.vaddr, end: p.vaddr + BigInt(p.memsz) });
  }
  if (spans.length === 0) return undefined;
  return spans.reduce((a, b) => ({ start: a.start < b.start ? a.start : b.start, end: a.end > b.end ? a.end : b.end }));
}

/** Reads of link-time addresses inside one section already in memory. */
export function sectionBytes(file: string, section: ElfSection, data: Buffer): KallsymsBytes {
  return {
    name: file,
    async read(address: bigint, length: number): Promise<Buffer> {
      const offset = address - section.addr;
      if (offset < 0n || offset + BigInt(length) > BigInt(data.length)) {
        throw new FormatError(file, address, `${length} bytes at 0x${address.toString(16)} are outside ${section.name}`);
      }
      return data.subarray(Number(offset), Number(offset) + length);
    },
  };
}
