import { KdiveError } from '../errors.js';

/** One argument of printf as the conversions need it. */
export interface PrintfArgument {
  /** Integers, pointers, chars: the raw value. */
  scalar?: bigint;
  /** For `%s`: the string's bytes up to its NUL, read by the caller. */
  string?: () => Promise<string>;
}

const CONVERSION = /%([-+ 0#]*)(\d+|\*)?(?:\.(\d+))?(hh|h|ll|l|z|j|t)?([diouxXcspfgeEG%])/g;

/**
 * gdb's `printf "FORMAT", ARGS...`: C conversions over kernel values. Integer conversions take the
 * C type the length modifier names (`%d` an int, `%lx` an unsigned long), as C's printf would.
 */
export async function formatPrintf(format: string, args: PrintfArgument[]): Promise<string> {
  let out = '';
  let last = 0;
  let next = 0;
  for (const m of format.matchAll(CONVERSION)) {
    out += format.slice(last, m.index);
    last = m.index! + m[0].length;
    const [, flags = '', widthText, precisionText, length, conv] = m;
    if (conv === '%') {
      out += '%';
      continue;
    }
    if (widthText === '*') throw new KdiveError('printf: a * width is not supported');
    const arg = args[next++];
    if (!arg) throw new KdiveError(`printf: the format wants more arguments than the ${args.length} given`);
    out += pad(await convert(conv!, length, flags, precisionText, arg), flags, widthText ? Number(widthText) : 0, /[diouxX]/.test(conv!));
  }
  if (next < args.length) throw new KdiveError(`printf: ${args.length - next} argument(s) left over for the format`);
  return out + format.slice(last);
}

async function convert(conv: string, length: string | undefined, flags: string, precisionText: string | undefined, arg: PrintfArgument): Promise<string> {
  if (conv === 's') {
    if (!arg.string) throw new KdiveError('printf: %s needs a string or char pointer');
    const s = await arg.string();
    return precisionText !== undefined ? s.slice(0, Number(precisionText)) : s;
  }
  if (/[fgeEG]/.test(conv)) throw new KdiveError(`printf: %${conv} (floating point) is not supported`);
  if (arg.scalar === undefined) throw new KdiveError(`printf: %${conv} needs a scalar value`);
  if (conv === 'c') return String.fromCharCode(Number(BigInt.asUintN(8, arg.scalar)));
  if (conv === 'p') return `0x${BigInt.asUintN(64, arg.scalar).toString(16)}`;
  const bits = length === 'hh' ? 8 : length === 'h' ? 16 : length === undefined ? 32 : 64;
  const signed = conv === 'd' || conv === 'i';
  const v = signed ? BigInt.asIntN(bits, arg.scalar) : BigInt.asUintN(bits, arg.scalar);
  let digits = (v < 0n ? -v : v).toString(conv === 'o' ? 8 : conv === 'x' || conv === 'X' ? 16 : 10);
  if (conv === 'X') digits = digits.toUpperCase();
  if (precisionText !== undefined) digits = digits.padStart(Number(precisionText), '0');
  const prefix = flags.includes('#') && v !== 0n ? (conv === 'x' ? '0x' : conv === 'X' ? '0X' : conv === 'o' ? '0' : '') : '';
  const sign = v < 0n ? '-' : signed && flags.includes('+') ? '+' : signed && flags.includes(' ') ? ' ' : '';
  return sign + prefix + digits;
}

/** Width: spaces on the left, on the right with `-`, or zeros after the sign with `0` (integers). */
function pad(text: string, flags: string, width: number, integer: boolean): string {
  if (text.length >= width) return text;
  if (flags.includes('-')) return text.padEnd(width);
  if (flags.includes('0') && integer) {
    const head = /^[-+ ]?(0[xX])?/.exec(text)![0];
    return head + text.slice(head.length).padStart(width - head.length, '0');
  }
  return text.padStart(width);
}

/** Splits `"fmt", a, b(c, d)` into the format string and the argument expressions. */
export function splitPrintfLine(line: string): { format: string; args: string[] } {
  const m = /^\s*"((?:[^"\\]|\\.)*)"\s*(?:,(.*))?$/s.exec(line);
  if (!m) throw new KdiveError('usage: printf "FORMAT", ARG...');
  return { format: unescapeC(m[1]!), args: m[2] === undefined ? [] : splitTopLevel(m[2]) };
}

/** C string escapes as gdb's printf and echo read them. */
export function unescapeC(text: string): string {
  const named: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b', '\\': '\\', '"': '"', "'": "'" };
  return text.replace(/\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/g, (_, e: string) => {
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    return named[e] ?? e;
  });
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const tail = text.slice(start).trim();
  if (!tail) throw new KdiveError('printf: an argument is empty');
  out.push(tail);
  return out;
}
