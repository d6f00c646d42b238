import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KdiveError, NotFoundError } from '../../src/errors.js';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { DwarfInfo } from '../../src/symbols/dwarf/index.js';
import { ExpressionEngine, type EngineSymbols, type ExpressionScope } from '../../src/expr/expression-engine.js';
import { openTinyElf } from '../support/tiny-elf-writer.js';
import { ADD, buildToyKernel, INIT_TASK, toyKernelMemory, type ToyMemory } from '../support/toy-kernel.js';

let elf: ElfFile;
let dwarf: DwarfInfo;
let table: SymbolTable;

before(async () => {
  elf = (await openTinyElf(buildToyKernel().bytes, 'vmlinux')).elf;
  table = await SymbolTable.fromElf(elf);
  dwarf = await DwarfInfo.open(elf, table);
});
after(() => elf.close());

/** The engine's symbols for the toy kernel loaded `slide` bytes higher (KASLR). */
function symbols(slide = 0n): EngineSymbols {
  return {
    symbolAt(address) {
      const hit = table.symbolize(address - slide);
      if (!hit || hit.offset >= BigInt(hit.size)) return undefined;
      return hit.offset === 0n ? hit.name : `${hit.name}+${hit.offset}`;
    },
    addressOf: (name) => {
      const s = table.lookup(name)[0];
      return s ? s.address + slide : undefined;
    },
    slide: () => slide,
    isPerCpu: () => false,
  };
}

/** A stop in `add` at ADD+0x14: rsi (b) = 7, rax (sum) = 99, rdx (tmp) = 51, CFA 0x9000 with `a` = -5 at CFA-20. */
function stopInAdd(memory: ToyMemory, slide = 0n): ExpressionScope {
  const regs: Record<string, bigint> = { rip: ADD + 0x14n + slide, rsp: 0x8ff0n, rbp: 0x9000n, rax: 99n, rsi: 7n, eflags: 0x246n };
  const dwarfRegs: Record<number, bigint> = { 0: 99n, 1: 51n, 4: 7n, 7: 0x8ff0n, 6: 0x9000n };
  const a = Buffer.alloc(4);
  a.writeInt32LE(-5);
  memory.write(0x9000n - 20n, a);
  return {
    readMemory: (address, n) => memory.read(address, n),
    readRegister: (n) => regs[n],
    frame: { lookupPc: ADD + 0x14n + slide, context: { readRegister: (n) => dwarfRegs[n], readMemory: (address, n) => memory.read(address, n), cfa: 0x9000n } },
  };
}

/** A fresh engine and memory; `p` prints as gdb's print does and returns the text after `$N = `. */
function session(slide = 0n) {
  const memory = toyKernelMemory(slide);
  const engine = new ExpressionEngine(dwarf, symbols(slide));
  const scope = stopInAdd(memory, slide);
  return {
    engine,
    memory,
    scope,
    p: async (text: string, fmt?: Parameters<ExpressionEngine['print']>[2]) => (await engine.print(text, scope, fmt)).text,
  };
}

/** Each expression prints as the text paired with it. */
async function prints(p: (text: string) => Promise<string>, cases: [string, string][]): Promise<void> {
  for (const [text, expected] of cases) assert.equal(await p(text), expected, text);
}

test('a struct prints as gdb prints it: members, a char array with its NULs, a nested struct, a pointer with its symbol, bit-fields, an enum', async () => {
  const { p } = session();
  assert.equal(await p('init_task'), '{pid = 1, comm = "swapper/0\\000\\000\\000\\000\\000\\000", pos = {x = 3, y = -4}, parent = 0xffffffff82000000 <init_task>, flags = 5, state = 17, c = BLUE}');
});

test('members through . and ->, nested, and through a pointer member', async () => {
  const { p } = session();
  await prints(p, [
    ['init_task.pid', '1'],
    ['init_task.pos', '{x = 3, y = -4}'],
    ['init_task.parent->pos.y', '-4'],
    ['init_task.parent->parent->comm', '"swapper/0\\000\\000\\000\\000\\000\\000"'],
    ['((struct task *)0xffffffff82000000)->pid', '1'],
  ]);
});

test('bit-fields read only their bits', async () => {
  const { p } = session();
  await prints(p, [
    ['init_task.flags', '5'],
    ['init_task.state', '17'],
    ['init_task.state + init_task.flags', '22'],
  ]);
});

test('a top-level pointer shows its type; a char pointer shows the string it points to', async () => {
  const { p } = session();
  await prints(p, [
    ['init_task.parent', '(struct task *) 0xffffffff82000000 <init_task>'],
    ['&init_task', '(struct task *) 0xffffffff82000000 <init_task>'],
    ['banner', '0xffffffff82000100 "Linux version 6.1-toy"'],
    ['*banner', "76 'L'"],
    ['banner[6]', "118 'v'"],
  ]);
});

test('arrays: the whole array, an element, the address of an element with its symbol offset', async () => {
  const { p } = session();
  await prints(p, [
    ['numbers', '{10, 20, 30, 40}'],
    ['numbers[2]', '30'],
    ['&numbers[1]', '(int *) 0xffffffff82000054 <numbers+4>'],
    ['*&numbers[3]', '40'],
    ['init_task.comm[0]', "115 's'"],
    ['numbers[1] == 20', '1'],
  ]);
});

test('enums print their enumerator names', async () => {
  const { p } = session();
  await prints(p, [
    ['current_color', 'GREEN'],
    ['init_task.c', 'BLUE'],
    ['(enum color)0', 'RED'],
    ['current_color + 1', '2'],
  ]);
});

test('C arithmetic: precedence, integer division toward zero, remainder, shifts, logic, unary operators', async () => {
  const { p } = session();
  await prints(p, [
    ['counter * 2 + 1', '85'],
    ['1 + 2 * 3', '7'],
    ['(1 + 2) * 3', '9'],
    ['-5 / 2', '-2'],
    ['-5 % 3', '-2'],
    ['7 >> 1', '3'],
    ['3 > 2 && 1', '1'],
    ['0 || 0', '0'],
    ['!0', '1'],
    ['~0', '-1'],
    ['-counter', '-42'],
    ['counter > 40 ? 1 : 2', '1'],
  ]);
});

test('integer types: int arithmetic wraps at 32 bits, a too-big literal is long, u and l suffixes', async () => {
  const { engine, scope, p } = session();
  assert.equal(await p('0x7fffffff + 1'), '-2147483648');
  assert.equal(await engine.whatis('0x7fffffff + 1', scope), 'int');
  assert.equal(await engine.whatis('2147483648', scope), 'long');
  assert.equal(await engine.whatis('1u', scope), 'unsigned int');
  assert.equal(await engine.whatis('1ul', scope), 'unsigned long');
  assert.equal(await p('2147483647u + 1'), '2147483648');
});

test('a hex or u-suffixed literal that fits in unsigned int is unsigned int, as in C and gdb', { todo: 'kdive types 0x80000000, 0xffffffffu and 4294967295u as long / unsigned long (expression-engine.ts, the number case)' }, async () => {
  const { engine, scope, p } = session();
  assert.equal(await engine.whatis('0x80000000', scope), 'unsigned int');
  assert.equal(await p('0xffffffffu + 1'), '0');
  assert.equal(await p('4294967295u + 1'), '0');
});

test("whatis of a typedef name unrolls one level, as gdb's does", { todo: "kdive's whatis prints the typedef name itself" }, async () => {
  const { engine, scope } = session();
  assert.equal(await engine.whatis('task_t', scope), 'struct task');
});

test('casts: to char shows the character, to unsigned char wraps, to long sign-extends an address, to a typedef pointer keeps its name', async () => {
  const { p } = session();
  await prints(p, [
    ['(char)counter', "42 '*'"],
    ['(unsigned char)-1', "255 '\\377'"],
    ['(long)&init_task', '-2113929216'],
    ['(unsigned long)&init_task', '18446744071595622400'],
    ['(task_t *)&init_task', '(task_t *) 0xffffffff82000000 <init_task>'],
    ['(short)0x12345', '9029'],
  ]);
});

test('sizeof of types and of expressions', async () => {
  const { p } = session();
  await prints(p, [
    ['sizeof(struct task)', '48'],
    ['sizeof(init_task.comm)', '16'],
    ['sizeof(int)', '4'],
    ['sizeof(task_t)', '48'],
    ['sizeof(numbers) / sizeof(numbers[0])', '4'],
  ]);
});

test('print formats: /x, /d, /u, /o, /t, /c, /z', async () => {
  const { p } = session();
  assert.equal(await p('counter', 'x'), '0x2a');
  assert.equal(await p('-1', 'x'), '0xffffffff');
  assert.equal(await p('-1', 'u'), '4294967295');
  assert.equal(await p('counter', 'o'), '052');
  assert.equal(await p('counter', 't'), '101010');
  assert.equal(await p('65', 'c'), "65 'A'");
  assert.equal(await p('counter', 'z'), '0x0000002a');
  assert.equal(await p('numbers', 'x'), '{0xa, 0x14, 0x1e, 0x28}');
  assert.equal(await p('init_task.pos', 'x'), '{x = 0x3, y = 0xfffffffc}');
});

test('functions: the name is the function, & makes a pointer to it', async () => {
  const { p } = session();
  assert.equal(await p('add'), '{int (int, int)} 0xffffffff81000000 <add>');
  assert.equal(await p('&add'), '(int (*)(int, int)) 0xffffffff81000000 <add>');
});

test('registers: $pc is a code pointer with its symbol, $sp a void pointer, $eflags its flags', async () => {
  const { p } = session();
  await prints(p, [
    ['$pc', '(void (*)()) 0xffffffff81000014 <add+20>'],
    ['$rip', '(void (*)()) 0xffffffff81000014 <add+20>'],
    ['$sp', '(void *) 0x8ff0'],
    ['$eflags', '[ IOPL=0 IF ZF PF ]'],
    ['$rax + 1', '100'],
  ]);
});

test('locals and arguments of the frame: a stack slot, a register, a location-list entry', async () => {
  const { p } = session();
  await prints(p, [
    ['a', '-5'],
    ['b', '7'],
    ['sum', '99'],
    ['a + b', '2'],
    ['tmp', '51'],
    ['sizeof(tmp)', '8'],
  ]);
});

test('value history: $N, $ and $$N', async () => {
  const { engine, scope, p } = session();
  assert.equal((await engine.print('counter', scope)).number, 1);
  assert.equal((await engine.print('counter + 1', scope)).number, 2);
  assert.equal(await p('$1 * 10'), '420');
  assert.equal(await p('$'), '420');
  await assert.rejects(p('$99'), (e: Error) => e instanceof KdiveError && e.message === 'History has not yet reached $99.');
});

test('a string literal and a character literal', async () => {
  const { p } = session();
  await prints(p, [
    ['"abc"', '"abc"'],
    ["'A'", "65 'A'"],
    ["'\\n'", "10 '\\n'"],
  ]);
});

test("gdb's errors: an unknown symbol, a missing member, a member of a scalar, division by zero, unreadable memory", async () => {
  const { p } = session();
  await assert.rejects(p('nosuch'), (e: Error) => e instanceof NotFoundError && e.message === 'No symbol "nosuch" in current context.');
  await assert.rejects(p('init_task.nosuch'), (e: Error) => e.message === 'There is no member named nosuch.');
  await assert.rejects(p('counter.x'), (e: Error) => e.message === 'Attempt to extract a component of a value that is not a structure.');
  await assert.rejects(p('1/0'), (e: Error) => e.message === 'Division by zero');
  await assert.rejects(p('*(int *)0x10'), (e: Error) => e.message === 'Cannot access memory at address 0x10');
});

test('whatis and ptype: the type as written, and a struct expanded one level', async () => {
  const { engine, scope } = session();
  assert.equal(await engine.whatis('init_task.parent', scope), 'struct task *');
  assert.equal(await engine.whatis('init_task.comm', scope), 'char [16]');
  assert.equal(await engine.whatis('banner', scope), 'const char *');
  assert.equal(await engine.whatis('&numbers', scope), 'int (*)[4]');
  assert.equal(await engine.ptype('current_color', scope), 'enum color {RED, GREEN, BLUE}');
  assert.equal(await engine.ptype('init_task.parent', scope), [
    'struct task {',
    '    int pid;',
    '    char comm[16];',
    '    struct point pos;',
    '    struct task *parent;',
    '    unsigned int flags : 3;',
    '    unsigned int state : 5;',
    '    enum color c;',
    '} *',
  ].join('\n'));
});

test('with a KASLR slide, globals and their symbols are read where the slid kernel has them', async () => {
  const slide = 0x1000000n;
  const { p } = session(slide);
  await prints(p, [
    ['&init_task', `(struct task *) 0x${(INIT_TASK + slide).toString(16)} <init_task>`],
    ['init_task.pid', '1'],
    ['init_task.parent->pos.x', '3'],
    ['banner', `0x${(0xffffffff82000100n + slide).toString(16)} "Linux version 6.1-toy"`],
    ['$pc', `(void (*)()) 0x${(ADD + 0x14n + slide).toString(16)} <add+20>`],
  ]);
});

test('describe gives front ends the children of a struct and the target of a pointer', async () => {
  const { engine, scope } = session();
  const v = await engine.describe(await engine.evaluate('init_task', scope), scope);
  assert.equal(v.hasChildren, true);
  const children = await v.children();
  assert.deepEqual(children.map((c) => [c.name, c.value.text]), [
    ['pid', '1'], ['comm', '"swapper/0\\000\\000\\000\\000\\000\\000"'], ['pos', '{x = 3, y = -4}'], ['parent', '(struct task *) 0xffffffff82000000 <init_task>'],
    ['flags', '5'], ['state', '17'], ['c', 'BLUE'],
  ]);
  const parent = await (children[3]!.value.children());
  assert.deepEqual(parent.map((c) => [c.name, c.value.type, c.value.text.slice(0, 9)]), [['*struct task', 'struct task', '{pid = 1,']]);
});
