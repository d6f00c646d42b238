import { KdiveError } from '../errors.js';
import { isCharType, sizeOf, strip, typeToString, type CType } from './c-types.js';
import { bytesOf, readLittleEndian, scalarOf, type CValue, type ValueSource } from './c-value.js';

/** gdb's print formats: x d u o t c a s z (and none: natural). */
export type PrintFormat = 'x' | 'd' | 'u' | 'o' | 't' | 'c' | 'a' | 's' | 'z' | undefined;

/** gdb's defaults: `print elements 200`, `print repeats 10`. */
const PRINT_MAX = 200;
const REPEAT_THRESHOLD = 10;

/** eflags fields in the order QEMU's target description lists them (high bits first), as gdb prints them. */
const EFLAGS: readonly (readonly [number, string, number?])[] = [[21, 'ID'], [20, 'VIP'], [19, 'VIF'], [18, 'AC'], [17, 'VM'], [16, 'RF'], [14, 'NT'], [12, 'IOPL', 2], [11, 'OF'], [10, 'DF'], [9, 'IF'], [8, 'TF'], [7, 'SF'], [6, 'ZF'], [4, 'AF'], [2, 'PF'], [0, 'CF']];

/** A value as gdb's `print` shows it; `top` is the outermost value (pointers then show their type). */
export async function formatValue(v: CValue, src: ValueSource, fmt: PrintFormat = undefined, top = true): Promise<string> {
  if (v.missing) return v.missing;
  const t = strip(v.type);
  try {
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'struct':
      case 'union':
        return await formatAggregate(v, t, src, fmt);
      case 'array':
        return await formatArray(v, t.element, t.count ?? 0, src, fmt);
      case 'func': {
        const addr = v.address ?? 0n;
        const sym = src.symbolAt(addr);
        return `{${typeToString(v.type)}} 0x${addr.toString(16)}${sym ? ` <${sym}>` : ''}`;
      }
      default:
        return await formatScalar(v, src, fmt, top);
    }
  } catch (err) {
    if (!top && err instanceof KdiveError && /^Cannot access memory/.test(err.message)) return `<error: ${err.message}>`;
    throw err;
  }
}

async function formatAggregate(v: CValue, t: Extract<CType, { kind: 'struct' | 'union' }>, src: ValueSource, fmt: PrintFormat): Promise<string> {
  const members = await t.members();
  if (members.length === 0) return '{}';
  await bytesOf(v, src); // one read for the whole object
  const parts: string[] = [];
  for (const m of members) {
    const mv = memberValue(v, m);
    const text = await formatValue(mv, src, fmt, false);
    parts.push(m.name ? `${m.name} = ${text}` : text);
  }
  return `{${parts.join(', ')}}`;
}

/** A member of a struct value, sharing its bytes when the struct was read already. */
export function memberValue(v: CValue, m: { type: CType; offset: number; bitSize?: number; bitOffset?: number }): CValue {
  const size = m.bitSize !== undefined ? Math.ceil(((m.bitOffset ?? 0) + m.bitSize) / 8) : sizeOf(m.type);
  return {
    type: m.type,
    address: v.address !== undefined ? v.address + BigInt(m.offset) : undefined,
    bytes: v.bytes ? v.bytes.subarray(m.offset, m.offset + size) : undefined,
    bitSize: m.bitSize,
    bitOffset: m.bitOffset,
    missing: v.missing,
  };
}

export function elementValue(v: CValue, element: CType, index: number): CValue {
  const size = sizeOf(element);
  return {
    type: element,
    address: v.address !== undefined ? v.address + BigInt(index * size) : undefined,
    bytes: v.bytes ? v.bytes.subarray(index * size, (index + 1) * size) : undefined,
  };
}

async function formatArray(v: CValue, element: CType, count: number, src: ValueSource, fmt: PrintFormat): Promise<string> {
  if (count === 0) {
    // A flexible array member: gdb shows where it starts, like a pointer.
    if (isCharType(element) && v.address !== undefined) return `0x${v.address.toString(16)}${await stringAt(v.address, src)}`;
    return '0x' + (v.address ?? 0n).toString(16);
  }
  const bytes = await bytesOf(v, src);
  if (isCharType(element) && (fmt === undefined || fmt === 's')) return charArrayText(bytes.subarray(0, count));
  const shown = Math.min(count, PRINT_MAX);
  const texts: string[] = [];
  for (let i = 0; i < shown; i++) texts.push(await formatValue(elementValue(v, element, i), src, fmt, false));
  const parts: string[] = [];
  for (let i = 0; i < texts.length; ) {
    let j = i + 1;
    while (j < texts.length && texts[j] === texts[i]) j++;
    const run = j - i;
    if (run > REPEAT_THRESHOLD) parts.push(`${texts[i]} <repeats ${run} times>`);
    else for (let k = i; k < j; k++) parts.push(texts[k]!);
    i = j;
  }
  return `{${parts.join(', ')}${count > PRINT_MAX ? '...' : ''}}`;
}

/** gdb's string printing of a char array: the terminating NUL dropped, long runs as repeats. */
export function charArrayText(bytes: Buffer): string {
  let n = bytes.length;
  if (n > 0 && bytes[n - 1] === 0) n--;
  if (n === 0) return '""';
  const segments: string[] = [];
  let quoted = '';
  let printed = 0;
  const flush = () => {
    if (quoted) segments.push(`"${quoted}"`);
    quoted = '';
  };
  let i = 0;
  for (; i < n && printed < PRINT_MAX; ) {
    let j = i + 1;
    while (j < n && bytes[j] === bytes[i]) j++;
    const run = j - i;
    if (run > REPEAT_THRESHOLD) {
      flush();
      segments.push(`'${escapeChar(bytes[i]!, "'")}' <repeats ${run} times>`);
      printed += REPEAT_THRESHOLD;
      i = j;
    } else {
      quoted += escapeChar(bytes[i]!, '"');
      printed++;
      i++;
    }
  }
  flush();
  return segments.join(', ') + (i < n ? '...' : '');
}

function escapeChar(c: number, quote: string): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\033' };
  if (c === 92) return '\\\\';
  if (String.fromCharCode(c) === quote) return `\\${quote}`;
  if (named[c]) return named[c]!;
  if (c >= 32 && c < 127) return String.fromCharCode(c);
  return `\\${c.toString(8).padStart(3, '0')}`;
}

/** ` "text"` for a `char *`, read up to gdb's 200 characters; an unreadable one says so. */
async function stringAt(address: bigint, src: ValueSource): Promise<string> {
  if (address === 0n) return '';
  let out = Buffer.alloc(0);
  for (let chunk = 64; out.length < PRINT_MAX; ) {
    let b: Buffer;
    try {
      b = await src.readMemory(address + BigInt(out.length), chunk);
    } catch {
      if (out.length === 0) return ` <error: Cannot access memory at address 0x${address.toString(16)}>`;
      break;
    }
    const nul = b.indexOf(0);
    out = Buffer.concat([out, nul >= 0 ? b.subarray(0, nul) : b]);
    if (nul >= 0) return ` ${quoteString(out.subarray(0, PRINT_MAX))}${out.length > PRINT_MAX ? '...' : ''}`;
  }
  return ` ${quoteString(out.subarray(0, PRINT_MAX))}...`;
}

function quoteString(b: Buffer): string {
  return b.length === 0 ? '""' : charArrayText(Buffer.concat([b, Buffer.from([0])]));
}

async function formatScalar(v: CValue, src: ValueSource, fmt: PrintFormat, top: boolean): Promise<string> {
  const t = strip(v.type);
  const value = await scalarOf(v, src);
  const bits = v.bitSize ?? Math.min(sizeOf(v.type), 8) * 8;
  const unsigned = BigInt.asUintN(bits, value);
  switch (fmt) {
    case 'x':
      return `0x${unsigned.toString(16)}`;
    case 'z':
      return `0x${unsigned.toString(16).padStart(Math.ceil(bits / 4), '0')}`;
    case 'o':
      return unsigned === 0n ? '0' : `0${unsigned.toString(8)}`;
    case 't':
      return unsigned.toString(2);
    case 'd':
      return BigInt.asIntN(bits, value).toString();
    case 'u':
      return unsigned.toString();
    case 'c': {
      const c = Number(BigInt.asUintN(8, value));
      return `${BigInt.asIntN(8, value)} '${escapeChar(c, "'")}'`;
    }
    case 'a': {
      const sym = src.symbolAt(unsigned);
      return `0x${unsigned.toString(16)}${sym ? ` <${sym}>` : ''}`;
    }
    default:
      break;
  }
  if (t.kind === 'pointer') {
    const sym = src.symbolAt(unsigned);
    let text = `0x${unsigned.toString(16)}`;
    if (sym) text += ` <${sym}>`;
    if (isCharType(t.target)) return `${text}${await stringAt(unsigned, src)}`;
    return top ? `(${typeToString(v.type)}) ${text}` : text;
  }
  if (t.kind === 'enum') {
    const hit = t.values.find((e) => e.value === value || e.value === unsigned);
    return hit ? hit.name : value.toString();
  }
  if (t.kind === 'float') {
    const b = await bytesOf(v, src);
    return String(t.size === 4 ? b.readFloatLE(0) : b.readDoubleLE(0));
  }
  if (t.kind === 'int') {
    if (t.name === 'i386_eflags') {
      const shown = EFLAGS.flatMap(([bit, name, width]) => {
        const field = (unsigned >> BigInt(bit)) & ((1n << BigInt(width ?? 1)) - 1n);
        return width ? [`${name}=${field}`] : field ? [name] : [];
      });
      return `[ ${shown.join(' ')} ]`;
    }
    if (t.bool) return value === 0n ? 'false' : value === 1n ? 'true' : value.toString();
    if (t.char && t.size === 1) return `${value} '${escapeChar(Number(BigInt.asUintN(8, value)), "'")}'`;
  }
  return value.toString();
}

/** The bytes of a value as an integer, for conditions and arithmetic on whole objects. */
export async function rawBits(v: CValue, src: ValueSource): Promise<bigint> {
  return readLittleEndian(await bytesOf(v, src));
}
