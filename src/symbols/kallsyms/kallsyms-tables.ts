/**
 * Where the kernel's kallsyms tables are (scripts/kallsyms.c writes them into `.rodata`): the
 * addresses of each, link-time when located in an image, run-time when read from a guest.
 * `names` ends where `markers` starts and `tokenTable` where `tokenIndex` starts in every
 * layout, so these addresses alone give every table's length.
 */
export interface KallsymsTables {
  /** `int kallsyms_offsets[num_syms]`. */
  offsets: bigint;
  /** `unsigned long kallsyms_relative_base`. */
  relativeBase: bigint;
  /** `unsigned int kallsyms_num_syms`. */
  numSyms: bigint;
  names: bigint;
  markers: bigint;
  tokenTable: bigint;
  /** `u16 kallsyms_token_index[256]`. */
  tokenIndex: bigint;
  /** `u8 kallsyms_seqs_of_names[3 * num_syms]` (6.2+, backported to 6.1.192); decoding does not need it. */
  seqsOfNames?: bigint;
  /** Which order scripts/kallsyms.c wrote them in: offsets first (up to 6.3), or num_syms first (6.4+). */
  order: 'offsets-first' | 'num-syms-first';
}

/** Where the tables' bytes come from: an image's `.rodata`, or guest memory. */
export interface KallsymsBytes {
  /** For error messages: the file, or "guest memory". */
  readonly name: string;
  read(address: bigint, length: number): Promise<Buffer>;
}

/**
 * The tables at run time: they are read-only kernel data, so KASLR moves them by the same slide
 * as the kernel text (the relative_base stored in them is slid at boot by its relocation).
 */
export function slideTables(tables: KallsymsTables, slide: bigint): KallsymsTables {
  const by = (a: bigint): bigint => (a + slide) & 0xffff_ffff_ffff_ffffn;
  return {
    ...tables,
    offsets: by(tables.offsets),
    relativeBase: by(tables.relativeBase),
    numSyms: by(tables.numSyms),
    names: by(tables.names),
    markers: by(tables.markers),
    tokenTable: by(tables.tokenTable),
    tokenIndex: by(tables.tokenIndex),
    ...(tables.seqsOfNames !== undefined ? { seqsOfNames: by(tables.seqsOfNames) } : {}),
  };
}
