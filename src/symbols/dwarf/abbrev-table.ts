import { ByteCursor } from './byte-cursor.js';
import { DW_FORM } from './constants.js';

export interface AbbrevAttr {
  at: number;
  form: number;
  /** For DW_FORM_implicit_const: the value lives here, not in .debug_info. */
  implicitConst?: number;
}

export interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  attrs: AbbrevAttr[];
  /** Attribute to form, for DIEs read with this abbreviation. */
  forms: Map<number, number>;
  hasIndirect: boolean;
}

/** Parses the abbreviation table at an offset of .debug_abbrev. */
export function parseAbbrevTable(section: Buffer, offset: number, file: string): Map<number, Abbrev> {
  const c = new ByteCursor(section, offset, '.debug_abbrev', file);
  const table = new Map<number, Abbrev>();
  for (;;) {
    const code = c.uleb();
    if (code === 0) break;
    const tag = c.uleb();
    const hasChildren = c.u8() === 1;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const at = c.uleb();
      const form = c.uleb();
      if (at === 0 && form === 0) break;
      const attr: AbbrevAttr = { at, form };
      if (form === DW_FORM.implicit_const) attr.implicitConst = c.sleb();
      attrs.push(attr);
    }
    table.set(code, { code, tag, hasChildren, attrs, forms: new Map(attrs.map((a) => [a.at, a.form])), hasIndirect: attrs.some((a) => a.form === DW_FORM.indirect) });
  }
  return table;
}
