/** An attribute value: numbers for constants and offsets, bigint for addresses, strings, blocks. */
export type AttrValue = number | bigint | string | Buffer | boolean;

/** One debugging information entry, with its attributes by DW_AT number. */
export interface Die {
  /** Offset in .debug_info. */
  offset: number;
  tag: number;
  attrs: Map<number, AttrValue>;
  /** The form each attribute came in (references and constants are told apart by it). */
  forms: FormLookup;
  children: Die[];
  parent?: Die;
}

export function attrNumber(die: Die, at: number): number | undefined {
  const v = die.attrs.get(at);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function attrString(die: Die, at: number): string | undefined {
  const v = die.attrs.get(at);
  return typeof v === 'string' ? v : undefined;
}

/** Forms by attribute, shared by every DIE of one abbreviation (DW_FORM_indirect ones get their own). */
export interface FormLookup {
  get(at: number): number | undefined;
}
