import { KdiveError } from '../errors.js';

/** A syntax error in an expression, with the column it was found at. */
export class ExpressionSyntaxError extends KdiveError {
  constructor(message: string, readonly column: number) {
    super(`${message} (at column ${column + 1})`);
  }
}

/** A type as written in a cast or sizeof: `struct task_struct *`, `unsigned long`, `u64`. */
export interface TypeSpec {
  base: string;
  pointers: number;
}

export type Expr =
  | { kind: 'number'; value: bigint; unsigned: boolean; long: boolean }
  | { kind: 'char'; value: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'ident'; name: string }
  | { kind: 'dollar'; name: string }
  | { kind: 'member'; object: Expr; member: string; arrow: boolean }
  | { kind: 'index'; object: Expr; index: Expr }
  | { kind: 'call'; callee: string; args: Expr[] }
  | { kind: 'unary'; op: '-' | '+' | '!' | '~' | '*' | '&'; operand: Expr }
  | { kind: 'cast'; type: TypeSpec; operand: Expr }
  | { kind: 'sizeof'; type?: TypeSpec; operand?: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'ternary'; cond: Expr; then: Expr; else: Expr }
  | { kind: 'assign'; target: Expr; value: Expr };

interface Token {
  kind: 'num' | 'char' | 'str' | 'id' | 'dollar' | 'op' | 'end';
  text: string;
  pos: number;
}

const OPERATORS = ['<<=', '>>=', '->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '++', '--', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '!', '~', '?', ':', '(', ')', '[', ']', '.', ',', '='];
const TYPE_WORDS = new Set(['struct', 'union', 'enum', 'unsigned', 'signed', 'char', 'short', 'int', 'long', 'float', 'double', 'void', '_Bool', 'bool', 'const', 'volatile']);
const BINARY: Record<string, number> = { '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10 };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)/.exec(text.slice(i))!;
      if (/^[0-9a-zA-Z_]/.test(text.slice(i + m[0].length))) throw new ExpressionSyntaxError(`invalid number "${text.slice(i).split(/[^0-9a-zA-Z_]/)[0]}"`, i);
      out.push({ kind: 'num', text: m[0], pos: start });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ kind: 'id', text: m[0], pos: start });
      i += m[0].length;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ kind: 'dollar', text: m[0].slice(1), pos: start });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') {
          const { ch, len } = unescape(text, j);
          value += ch;
          j += len;
        } else value += text[j++];
      }
      if (j >= text.length) throw new ExpressionSyntaxError(`unterminated ${c === '"' ? 'string' : 'character'} literal`, i);
      if (c === "'" && value.length !== 1) throw new ExpressionSyntaxError('a character literal holds one character', i);
      out.push({ kind: c === "'" ? 'char' : 'str', text: value, pos: start });
      i = j + 1;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) throw new ExpressionSyntaxError(`unexpected character '${c}'`, i);
      out.push({ kind: 'op', text: op, pos: start });
      i += op.length;
    }
  }
  out.push({ kind: 'end', text: '', pos: text.length });
  return out;
}

function unescape(text: string, at: number): { ch: string; len: number } {
  const n = text[at + 1];
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };
  const oct = /^[0-7]{1,3}/.exec(text.slice(at + 1));
  if (oct && oct[0] !== '0') return { ch: String.fromCharCode(parseInt(oct[0], 8)), len: 1 + oct[0].length };
  const hex = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(at + 1));
  if (hex) return { ch: String.fromCharCode(parseInt(hex[1]!, 16)), len: 2 + hex[1]!.length };
  if (n !== undefined && n in simple) return { ch: simple[n]!, len: 2 };
  return { ch: n ?? '\\', len: 2 };
}

/**
 * Parses the C expression subset gdb users type at `print`: members, `->`, unary `* & - ! ~`,
 * `[]`, casts, `sizeof`, binary arithmetic and logic, `?:`, `$registers`, `$var = value`.
 * `isTypeName` tells a typedef from a variable where `(name) x` is ambiguous.
 */
export function parseExpression(text: string, isTypeName: (name: string) => boolean = () => false): Expr {
  const toks = tokenize(text);
  let p = 0;
  const peek = (o = 0) => toks[Math.min(p + o, toks.length - 1)]!;
  const next = () => toks[p++]!;
  const isOp = (t: Token, op: string) => t.kind === 'op' && t.text === op;
  const expect = (op: string) => {
    const t = next();
    if (!isOp(t, op)) throw new ExpressionSyntaxError(t.kind === 'end' ? `expected '${op}' at the end` : `expected '${op}', found '${t.text}'`, t.pos);
  };

  /** Whether a type name starts at token offset `o` (inside parentheses). */
  const typeStartsAt = (o: number): boolean => {
    const t = peek(o);
    if (t.kind !== 'id') return false;
    if (TYPE_WORDS.has(t.text)) return true;
    if (!isTypeName(t.text)) return false;
    // `(name)` followed by something that can only begin an operand is a cast to a typedef.
    let k = o + 1;
    while (isOp(peek(k), '*')) k++;
    return isOp(peek(k), ')');
  };

  const parseType = (): TypeSpec => {
    const words: string[] = [];
    while (peek().kind === 'id') {
      const w = next().text;
      if (w === 'const' || w === 'volatile') continue;
      words.push(w);
      if (w === 'struct' || w === 'union' || w === 'enum') {
        const tag = next();
        if (tag.kind !== 'id') throw new ExpressionSyntaxError(`expected a name after '${w}'`, tag.pos);
        words.push(tag.text);
        break;
      }
      if (!TYPE_WORDS.has(w)) break;
    }
    let pointers = 0;
    for (;;) {
      if (isOp(peek(), '*')) {
        next();
        pointers++;
      } else if (peek().kind === 'id' && (peek().text === 'const' || peek().text === 'volatile')) next();
      else break;
    }
    if (words.length === 0) throw new ExpressionSyntaxError('expected a type', peek().pos);
    return { base: words.join(' '), pointers };
  };

  const primary = (): Expr => {
    const t = next();
    switch (t.kind) {
      case 'num': {
        const m = /^(.*?)([uUlL]*)$/.exec(t.text)!;
        const digits = m[1]!;
        const value = digits.length > 1 && digits[0] === '0' && !/^0[xX]/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
        return { kind: 'number', value, unsigned: /u/i.test(m[2]!), long: /l/i.test(m[2]!) };
      }
      case 'char':
        return { kind: 'char', value: BigInt(t.text.charCodeAt(0)) };
      case 'str':
        return { kind: 'string', value: t.text };
      case 'dollar':
        if (isOp(peek(), '(')) return { kind: 'call', callee: `$${t.text}`, args: callArguments() };
        return { kind: 'dollar', name: t.text };
      case 'id':
        if (t.text === 'sizeof') {
          if (isOp(peek(), '(') && typeStartsAt(1)) {
            next();
            const type = parseType();
            expect(')');
            return { kind: 'sizeof', type };
          }
          return { kind: 'sizeof', operand: unary() };
        }
        // NAME(...): the engine knows a few (per_cpu); kernel functions are not called.
        if (isOp(peek(), '(')) return { kind: 'call', callee: t.text, args: callArguments() };
        return { kind: 'ident', name: t.text };
      case 'op':
        if (t.text === '(') {
          const e = assignment();
          expect(')');
          return e;
        }
        throw new ExpressionSyntaxError(`unexpected '${t.text}'`, t.pos);
      default:
        throw new ExpressionSyntaxError('the expression ends too early', t.pos);
    }
  };

  /** `(a, b)` after a function name. */
  const callArguments = (): Expr[] => {
    next();
    const args: Expr[] = [];
    if (!isOp(peek(), ')')) {
      for (;;) {
        args.push(assignment());
        if (!isOp(peek(), ',')) break;
        next();
      }
    }
    expect(')');
    return args;
  };

  const postfix = (): Expr => {
    let e = primary();
    for (;;) {
      const t = peek();
      if (isOp(t, '.') || isOp(t, '->')) {
        next();
        const m = next();
        if (m.kind !== 'id') throw new ExpressionSyntaxError(`expected a member name after '${t.text}'`, m.pos);
        e = { kind: 'member', object: e, member: m.text, arrow: t.text === '->' };
      } else if (isOp(t, '[')) {
        next();
        const index = assignment();
        expect(']');
        e = { kind: 'index', object: e, index };
      } else return e;
    }
  };

  const unary = (): Expr => {
    const t = peek();
    if (t.kind === 'op' && ['-', '+', '!', '~', '*', '&'].includes(t.text)) {
      next();
      return { kind: 'unary', op: t.text as '-', operand: unary() };
    }
    if (isOp(t, '(') && typeStartsAt(1)) {
      next();
      const type = parseType();
      expect(')');
      return { kind: 'cast', type, operand: unary() };
    }
    return postfix();
  };

  const binary = (minPrec: number): Expr => {
    let left = unary();
    for (;;) {
      const t = peek();
      const prec = t.kind === 'op' ? BINARY[t.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      next();
      left = { kind: 'binary', op: t.text, left, right: binary(prec + 1) };
    }
  };

  const conditional = (): Expr => {
    const cond = binary(1);
    if (!isOp(peek(), '?')) return cond;
    next();
    const then = assignment();
    expect(':');
    return { kind: 'ternary', cond, then, else: conditional() };
  };

  const assignment = (): Expr => {
    const target = conditional();
    if (isOp(peek(), '=')) {
      next();
      return { kind: 'assign', target, value: assignment() };
    }
    return target;
  };

  if (peek().kind === 'end') throw new ExpressionSyntaxError('an expression is needed', 0);
  const e = assignment();
  const rest = peek();
  if (rest.kind !== 'end') throw new ExpressionSyntaxError(`unexpected '${rest.text}' after the expression`, rest.pos);
  return e;
}
