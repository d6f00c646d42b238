import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readTargetDescription } from './target-description.js';

// The fixtures stay in test/ (the build copies no data): from dist/src/... it is one level further up.
const fixtures = new URL(`${import.meta.url.endsWith('.ts') ? '../../..' : '../../../..'}/test/fixtures/target-xml/`, import.meta.url);
const fromFolder = (folder: string) => (annex: string) => Promise.resolve(readFileSync(new URL(`${folder}/${annex}`, fixtures), 'utf8'));

/** x86-64 as QEMU's target/i386/gdbstub.c serves it in `g`: 66 registers, 608 bytes. */
const QEMU_X86_64: [string, number][] = [
  ...['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'].map((n): [string, number] => [n, 64]),
  ...['eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((n): [string, number] => [n, 32]),
  ...['fs_base', 'gs_base', 'k_gs_base', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'].map((n): [string, number] => [n, 64]),
  ...Array.from({ length: 8 }, (_, i): [string, number] => [`st${i}`, 80]),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n): [string, number] => [n, 32]),
  ...Array.from({ length: 16 }, (_, i): [string, number] => [`xmm${i}`, 128]),
  ['mxcsr', 32],
];

for (const qemu of ['qemu-7.2', 'qemu-10']) test(`${qemu} target description (as its gdbstub sends it): 66 registers in g order, the commented-out cs_base..es_base not among them`, async () => {
  const { architecture, registers } = await readTargetDescription(fromFolder(qemu));
  assert.equal(architecture, 'i386:x86-64');
  assert.deepEqual(registers.map((r) => [r.name, r.bitSize]), QEMU_X86_64);
  assert.deepEqual(registers.map((r) => r.regnum), registers.map((_, i) => i));
  const last = registers.at(-1)!;
  assert.equal(last.offset + last.bitSize / 8, 608, 'the size of QEMU 7.2 x86-64 g reply');
  assert.equal(registers.find((r) => r.name === 'fs_base')!.offset, 17 * 8 + 7 * 4);
  assert.equal(registers.find((r) => r.name === 'st0')!.offset, 17 * 8 + 7 * 4 + 9 * 8);
});

test('comments, CDATA, entities, nested xi:include and regnum gaps are read as XML, and g offsets follow regnum order', async () => {
  const docs: Record<string, string> = {
    'target.xml': `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd" [ <!ENTITY unused "x"> ]>
<!-- <reg name="outside" bitsize="8"/> -->
<target version="1.0"><architecture><![CDATA[i386:x86-64]]></architecture>
  <xi:include href='a.xml'/>
  <feature name="late"><reg name="hi" bitsize="16" regnum="10"/><reg name="hi2" bitsize="8"/></feature>
</target>`,
    'a.xml': `<?xml version="1.0"?><feature name="a">
  <reg name="r0" bitsize="32" regnum="0"/>
  <!--reg name="ghost" bitsize="64"/>
  <reg name="ghost2" bitsize="64"/-->
  <reg name="r&amp;1" bitsize='32' type="int&#x33;2"/>
  <xi:include href="b.xml"/>
</feature>`,
    'b.xml': '<feature name="b"><reg name="r2" bitsize="64" group="g&lt;p"/></feature>',
  };
  const { architecture, registers } = await readTargetDescription((annex) => Promise.resolve(docs[annex]!));
  assert.equal(architecture, 'i386:x86-64');
  assert.deepEqual(registers.map((r) => [r.name, r.regnum, r.offset]), [['r0', 0, 0], ['r&1', 1, 4], ['r2', 2, 8], ['hi', 10, 16], ['hi2', 11, 18]]);
  assert.equal(registers[1]!.type, 'int32');
  assert.equal(registers[2]!.group, 'g<p');
});

test('a malformed or self-including description is a one-line error naming the document', async () => {
  const bad: Record<string, string> = {
    'target.xml': '<target><xi:include href="f.xml"/></target>',
    'f.xml': '<feature><reg name="x" bitsize="8"></feature>',
  };
  await assert.rejects(readTargetDescription((a) => Promise.resolve(bad[a]!)), /^Error: target description f\.xml: <\/feature> closes <reg> at offset \d+$|target description f\.xml: <\/feature> closes <reg>/);
  const loop: Record<string, string> = { 'target.xml': '<target><xi:include href="x.xml"/></target>', 'x.xml': '<feature><xi:include href="x.xml"/></feature>' };
  await assert.rejects(readTargetDescription((a) => Promise.resolve(loop[a]!)), /x\.xml includes itself/);
  await assert.rejects(readTargetDescription(() => Promise.resolve('<target><reg name="x" bitsize="0"/></target>')), /positive bitsize/);
});
