import { FormatError } from '../../errors.js';
import type { KallsymsTables } from './kallsyms-tables.js';
import { alignUp } from './table-alignment.js';

/**
 * kallsyms_token_table: 256 NUL-terminated tokens, token b being what byte b of a compressed
 * name expands to; kallsyms_token_index: u16[256], where each starts. Every character used in
 * a symbol name is its own token, so the digits sit in the table as "0\0" "1\0" … "9\0" at
 * slots 0x30..0x39: the run this file searches for when nothing says where the table is.
 */
const DIGIT_TOKENS = Buffer.from('0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00', 'latin1');
const DIGIT_ZERO = 0x30;
/** How many tokens follow "9" (slot 0x39) to the end of the table. */
const TOKENS_AFTER_NINE = 255 - 0x39;

/** The 256 token strings, after checking the index points at the start of each NUL-terminated token. */
export function tokenStrings(table: Buffer, index: Buffer, file: string, at: Pick<KallsymsTables, 'tokenTable' | 'tokenIndex'>): string[] {
  const tokens = new Array<string>(256);
  let expected = 0;
  for (let i = 0; i < 256; i++) {
    const start = index.readUInt16LE(2 * i);
    if (start !== expected) throw new FormatError(file, at.tokenIndex + BigInt(2 * i), `kallsyms_token_index[${i}] is ${start}, but token ${i} starts at ${expected}`);
    const end = table.indexOf(0, start);
    if (end < 0) throw new FormatError(file, at.tokenTable + BigInt(start), `kallsyms token ${i} has no terminating NUL`);
    tokens[i] = table.toString('latin1', start, end);
    expected = end + 1;
  }
  if (table.length - expected >= 8) throw new FormatError(file, at.tokenTable + BigInt(expected), `kallsyms_token_table has ${table.length - expected} bytes after its 256 tokens`);
  return tokens;
}

/** A token table and the index after it, as offsets into the searched buffer. */
export interface TokenTablePlace {
  tokenTable: number;
  tokenIndex: number;
}

/**
 * Every place in `data` that holds a consistent token table followed by its index, the index
 * starting at the next multiple of `align` (in addresses: `data[0]` is at an address ≡
 * `baseMod` modulo 8). Consistent: the index's 256 entries are exactly where the table's
 * NUL-terminated tokens start, and the digit tokens are at 0x30..0x39.
 */
export function* findTokenTables(data: Buffer, align: number, baseMod: number): Generator<TokenTablePlace> {
  for (let hit = data.indexOf(DIGIT_TOKENS); hit >= 0; hit = data.indexOf(DIGIT_TOKENS, hit + 1)) {
    let end = hit + DIGIT_TOKENS.length;
    for (let n = 0; n < TOKENS_AFTER_NINE && end >= 0; n++) {
      const nul = data.indexOf(0, end);
      end = nul < 0 ? -1 : nul + 1;
    }
    if (end < 0) continue;
    const tokenIndex = alignUp(end, align, baseMod);
    if (tokenIndex + 512 > data.length) continue;
    const tokenTable = hit - data.readUInt16LE(tokenIndex + 2 * DIGIT_ZERO);
    if (tokenTable < 0 || alignUp(tokenTable, align, baseMod) !== tokenTable) continue;
    try {
      tokenStrings(data.subarray(tokenTable, tokenIndex), data.subarray(tokenIndex, tokenIndex + 512), '', { tokenTable: 0n, tokenIndex: 0n });
    } catch (err) {
      if (err instanceof FormatError) continue;
      throw err;
    }
    yield { tokenTable, tokenIndex };
  }
}
