import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfFile } from '../../src/symbols/btf/index.js';
import { BtfProgramTypes } from '../../src/expr/btf-program-types.js';
import { ExpressionEngine, type ExpressionScope } from '../../src/expr/expression-engine.js';
import { KdiveError } from '../../src/errors.js';
import { BtfWriter } from '../support/btf-writer.js';

function sample(): { bytes: Buffer; w: BtfWriter } {
  const w = new BtfWriter();
  const int = w.int('int', 4, { signed: true }); // 1
  const uint = w.int('unsigned int', 4); // 2
  const char = w.int('char', 1, { signed: true, char: true }); // 3
  const ulong = w.int('long unsigned int', 8); // 4
  const fwdNode = w.fwd('node'); // 5: a forward declaration, defined below
  const nodePtr = w.ptr(fwdNode); // 6
  const comm = w.array(char, 16); // 7
  const flex = w.array(ulong, 0); // 8
  const state = w.enumOf('state', 4, [['RUNNING', 0], ['DEAD', -1 >>> 0]], true); // 9
  const pidT = w.typedef('pid_t', int); // 10
  w.struct('node', 48, [
    ['next', nodePtr, 0],
    ['pid', pidT, 64],
    ['low', uint, 96, 3],
    ['high', uint, 99, 5],
    ['comm', comm, 128],
    ['st', state, 256],
    ['tail', flex, 320],
  ]); // 11
  const cnode = w.constOf(fwdNode); // 12
  const proto = w.funcProto(int, [['n', w.ptr(cnode)], ['fmt', w.ptr(char)], ['', 0]]); // 13 ptr, 14 ptr, 15 proto
  w.func('walk', proto);
  const v = w.variable('current_node', nodePtr);
  w.dataSection('.data..percpu', 8, [[v, 0x100, 8]]);
  return { bytes: w.bytes(), w };
}

const scope: ExpressionScope = { readMemory: async () => Buffer.alloc(0), readRegister: () => undefined } as unknown as ExpressionScope;
// A function and a per-CPU variable (whose address is its offset in the per-CPU area), as kallsyms gives them.
const noSymbols = {
  symbolAt: () => undefined,
  addressOf: (n: string) => (n === 'walk' ? 0xffffffff81000000n : n === 'current_node' ? 0x100n : undefined),
  slide: () => 0n,
  isPerCpu: (link: bigint) => link < 0x1000n,
};

test('a struct read from BTF prints as gdb prints it, forward declaration resolved, bitfields and flexible array kept', async () => {
  const engine = new ExpressionEngine(new BtfProgramTypes(BtfFile.parse(sample().bytes, 'sample')), noSymbols);
  assert.equal(
    await engine.ptype('struct node', scope),
    ['struct node {', '    struct node *next;', '    pid_t pid;', '    unsigned int low : 3;', '    unsigned int high : 5;', '    char comm[16];', '    enum state st;', '    unsigned long tail[];', '}'].join('\n'),
  );
  assert.equal(await engine.ptype('enum state', scope), 'enum state {RUNNING, DEAD}');
  assert.equal(await engine.whatis('sizeof(struct node)', scope), 'int'); // as gdb 13 types it
  assert.equal((await engine.print('sizeof(struct node)', scope)).text, '48');
  assert.equal((await engine.print('&((struct node *)0)->comm', scope)).text, '(char (*)[16]) 0x10');
  assert.equal(await engine.whatis('walk', scope), 'int (const struct node *, char *, ...)');
  assert.equal(await engine.whatis('current_node', scope), 'struct node *');
});

test('bitfield members keep their bit positions', async () => {
  const types = new BtfProgramTypes(BtfFile.parse(sample().bytes, 'sample'));
  const node = await types.findType('struct node');
  assert.ok(node && node.kind === 'struct');
  const members = await node.members();
  assert.deepEqual(members.filter((m) => m.bitSize).map((m) => [m.name, m.offset, m.bitOffset, m.bitSize]), [['low', 12, 0, 3], ['high', 12, 3, 5]]);
  const st = members.find((m) => m.name === 'st')!.type;
  assert.ok(st.kind === 'enum' && st.signed);
  assert.deepEqual(st.values.map((v) => v.value), [0n, -1n]);
  assert.deepEqual(types.functionParameters('walk')?.map((p) => p.name), ['n', 'fmt']);
});

test('split BTF continues the base: ids and string offsets', async () => {
  const base = BtfFile.parse(sample().bytes, 'vmlinux');
  const baseStrings = sample().bytes.readUInt32LE(20);
  const w = new BtfWriter(base.lastId + 1, baseStrings);
  const modStruct = w.struct('mod_thing', 8, [['n', 11 /* struct node from the base */, 0]]);
  const split = BtfFile.parse(w.bytes(), 'mod.ko', base);
  assert.equal(modStruct, base.lastId + 1);
  const engine = new ExpressionEngine(new BtfProgramTypes(split), noSymbols);
  assert.equal(await engine.ptype('struct mod_thing', scope), 'struct mod_thing {\n    struct node n;\n}');
  assert.equal(await engine.whatis('pid_t', scope), 'pid_t');
});

test('a damaged blob is a one-line error naming where, never a RangeError', () => {
  const good = sample().bytes;
  const cases: [string, Buffer, RegExp][] = [
    ['short', good.subarray(0, 10), /shorter than its 24-byte header/],
    ['magic', Buffer.concat([Buffer.from([0xeb, 0x9f]), good.subarray(2)]), /not BTF/],
    ['types past end', good.subarray(0, 60), /runs past the blob/],
  ];
  const cut = Buffer.from(good);
  cut.writeUInt32LE(cut.readUInt32LE(12) - 5, 12); // the type section ends inside a record
  cases.push(['record cut', cut, /cut short|runs past the type section/]);
  const unknown = Buffer.from(good);
  unknown.writeUInt32LE((31 << 24) >>> 0, 24 + 4);
  cases.push(['unknown kind', unknown, /unknown kind 31/]);
  for (const [what, bytes, message] of cases) {
    assert.throws(() => BtfFile.parse(bytes, 'x.btf'), (err: unknown) => err instanceof KdiveError && message.test(err.message) && !err.message.includes('\n'), what);
  }
  const file = BtfFile.parse(good, 'x.btf');
  assert.throws(() => file.type(10_000), /type id 10000 is past the last type/);
});
