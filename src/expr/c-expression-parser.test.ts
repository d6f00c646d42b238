import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpressionSyntaxError, parseExpression, type Expr, type TypeSpec } from './c-expression-parser.js';

/** The tree as a Lisp-like string: `(+ 1 (* 2 3))`, `(-> a b)`, `(cast struct task* p)`. */
function sx(e: Expr): string {
  const t = (s: TypeSpec) => `${s.base}${'*'.repeat(s.pointers)}`;
  switch (e.kind) {
    case 'number': return `${e.value}${e.unsigned ? 'u' : ''}${e.long ? 'l' : ''}`;
    case 'char': return `'${e.value}'`;
    case 'string': return JSON.stringify(e.value);
    case 'ident': return e.name;
    case 'dollar': return `$${e.name}`;
    case 'member': return `(${e.arrow ? '->' : '.'} ${sx(e.object)} ${e.member})`;
    case 'index': return `([] ${sx(e.object)} ${sx(e.index)})`;
    case 'call': return `(call ${e.callee}${e.args.map((a) => ` ${sx(a)}`).join('')})`;
    case 'unary': return `(${e.op} ${sx(e.operand)})`;
    case 'cast': return `(cast ${t(e.type)} ${sx(e.operand)})`;
    case 'sizeof': return `(sizeof ${e.type ? t(e.type) : sx(e.operand!)})`;
    case 'binary': return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case 'ternary': return `(? ${sx(e.cond)} ${sx(e.then)} ${sx(e.else)})`;
    case 'assign': return `(= ${sx(e.target)} ${sx(e.value)})`;
  }
}

const parse = (text: string, types: string[] = []) => sx(parseExpression(text, (n) => types.includes(n)));

/** Each text parses to the tree paired with it (names in the third element are types). */
function parses(cases: [string, string, string[]?][]): void {
  for (const [text, tree, types] of cases) assert.equal(parse(text, types), tree, text);
}

test("C's precedence and associativity", () => {
  parses([
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['1 - 2 - 3', '(- (- 1 2) 3)'],
    ['1 << 2 == 4 && 3 | 4 ^ 5 & 6', '(&& (== (<< 1 2) 4) (| 3 (^ 4 (& 5 6))))'],
    ['a || b && c', '(|| a (&& b c))'],
    ['a ? b : c ? d : e', '(? a b (? c d e))'],
    ['-!~*&x', '(- (! (~ (* (& x)))))'],
    ['((a))', 'a'],
  ]);
});

test('postfix chains: members, arrows, subscripts and calls bind tighter than unary operators', () => {
  parses([
    ['a->b.c[2]', '([] (. (-> a b) c) 2)'],
    ['*p->next', '(* (-> p next))'],
    ['&init_task.comm[1]', '(& ([] (. init_task comm) 1))'],
    ['$lx_current(0)->pid', '(-> (call $lx_current 0) pid)'],
    ['per_cpu(runqueues, 1).nr_running', '(. (call per_cpu runqueues 1) nr_running)'],
  ]);
});

test('(name) is a cast only when name is a type', () => {
  parses([
    ['(x) - 1', '(- x 1)'],
    ['(x) - 1', '(cast x (- 1))', ['x']],
    ['(struct task *)p', '(cast struct task* p)'],
    ['(unsigned long)-1', '(cast unsigned long (- 1))'],
    ['(u64 **)0', '(cast u64** 0)', ['u64']],
    ['sizeof(int)', '(sizeof int)'],
    ['sizeof x', '(sizeof x)'],
    ['sizeof(struct task)', '(sizeof struct task)'],
  ]);
});

test('literals: octal, hex, suffixes, characters with escapes, strings, history and registers', () => {
  parses([
    ['010', '8'],
    ['0x1F', '31'],
    ['10UL', '10ul'],
    ['7u', '7u'],
    ["'\\n'", "'10'"],
    ["'A'", "'65'"],
    ['"a\\tb"', '"a\\tb"'],
    ['$1 + $rip + $', '(+ (+ $1 $rip) $)'],
    ['x = 3', '(= x 3)'],
  ]);
});

test('syntax errors say what and at which column', () => {
  const fails = (text: string, message: string) =>
    assert.throws(() => parseExpression(text), (e: Error) => e instanceof ExpressionSyntaxError && e.message === message, text);
  fails('1 +', 'the expression ends too early (at column 4)');
  fails('0x1g', 'invalid number "0x1g" (at column 1)');
  fails('"abc', 'unterminated string literal (at column 1)');
  fails('a b', "unexpected 'b' after the expression (at column 3)");
  fails(')', "unexpected ')' (at column 1)");
});
