import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { BtfFile } from '../../src/symbols/btf/index.js';
import { DwarfInfo } from '../../src/symbols/dwarf/index.js';
import { SymbolTable } from '../../src/symbols/elf/index.js';
import { BtfProgramTypes } from '../../src/expr/btf-program-types.js';
import { DwarfProgramTypes } from '../../src/expr/dwarf-program-types.js';
import { sizeOf, strip, typeToString, type CType } from '../../src/expr/c-types.js';
import type { ProgramTypes } from '../../src/expr/program-types.js';
import { DEBIAN_KERNELS, getDebianKernel } from '../support/kernel-fixture.js';

/** Structs the kernel helpers, the examples and a driver author reach for. */
const STRUCTS = [
  'task_struct', 'file', 'inode', 'super_block', 'dentry', 'mm_struct', 'vm_area_struct', 'page', 'sk_buff', 'sock',
  'tcp_sock', 'net_device', 'module', 'cred', 'list_head', 'hlist_node', 'rq', 'cfs_rq', 'sched_entity', 'pt_regs',
  'signal_struct', 'files_struct', 'fdtable', 'path', 'qstr', 'kobject', 'device', 'pci_dev', 'bio', 'address_space',
  'timer_list', 'work_struct', 'mutex', 'callback_head', 'printk_ringbuffer', 'prb_desc', 'printk_info', 'orc_entry',
  'uts_namespace', 'new_utsname', 'nsproxy', 'pid', 'upid', 'hrtimer', 'wait_queue_head', 'socket', 'msghdr',
  'iov_iter', 'bpf_prog', 'seq_file', 'thread_info', 'thread_struct', 'filename', 'rb_node', 'mod_kallsyms',
];

/** Every member, anonymous members expanded, as `path: type @offset[.bit:bits] size`. */
async function layout(t: CType, prefix = '', base = 0, depth = 0): Promise<string[]> {
  const s = strip(t);
  if ((s.kind !== 'struct' && s.kind !== 'union') || depth > 2) return [];
  const out: string[] = [];
  for (const m of await s.members()) {
    const path = `${prefix}${m.name || '<anon>'}`;
    const at = base + m.offset;
    const bits = m.bitSize !== undefined ? `.${m.bitOffset}:${m.bitSize}` : '';
    out.push(`${path}: ${typeToString(m.type)} @${at}${bits} ${sizeOf(m.type)}`);
    // Nested anonymous aggregates (and one level of named ones) are part of the layout gdb's ptype/o shows.
    if (!m.name || depth === 0) out.push(...(await layout(m.type, `${path}.`, at, depth + 1)));
  }
  return out;
}

async function describe(types: ProgramTypes, name: string): Promise<string[]> {
  const t = await types.findType(`struct ${name}`);
  if (!t) return [`struct ${name}: missing`];
  return [`struct ${name}: size ${sizeOf(t)}`, ...(await layout(t))];
}

for (const { name: version, get } of DEBIAN_KERNELS) {
  test(`${version}: ptype from BTF equals the DWARF layout for 55 structs (offsets, sizes, bitfields, member names and types)`, async () => {
    const kernel = await get();
    const elf = await ElfFile.open(kernel.vmlinux!);
    try {
      const btf = new BtfProgramTypes(BtfFile.parse(await elf.readSection('.BTF'), kernel.vmlinux!));
      const dwarf = new DwarfProgramTypes(await DwarfInfo.open(elf, await SymbolTable.fromElf(elf)));
      const differences: string[] = [];
      let compared = 0;
      for (const name of STRUCTS) {
        const [fromBtf, fromDwarf] = [await describe(btf, name), await describe(dwarf, name)];
        compared += fromDwarf.length;
        // BTF keeps no difference between `T x[0]` and `T x[]`, and DWARF has both: both print as `[]` here.
        const same = (l: string[]) => l.map((x) => x.replace(/\[0\]/g, '[]'));
        const a = same(fromBtf);
        const b = same(fromDwarf);
        for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) differences.push(`${name}[${i}]\n  btf:   ${a[i]}\n  dwarf: ${b[i]}`);
      }
      assert.deepEqual(differences.slice(0, 20), [], differences.slice(0, 20).join('\n'));
      assert.ok(compared > 1500, `only ${compared} members compared`);
    } finally {
      await elf.close();
    }
  });
}

test('struct sizes and member offsets from BTF equal gdb\'s on the debug vmlinux', async () => {
  const kernel = await getDebianKernel();
  const elf = await ElfFile.open(kernel.vmlinux!);
  try {
    const btf = new BtfProgramTypes(BtfFile.parse(await elf.readSection('.BTF'), kernel.vmlinux!));
    const questions: { expr: string; ours: string }[] = [];
    for (const name of STRUCTS.slice(0, 30)) {
      const t = strip((await btf.findType(`struct ${name}`))!);
      assert.ok(t.kind === 'struct');
      questions.push({ expr: `sizeof(struct ${name})`, ours: String(t.size) });
      for (const m of await t.members()) {
        if (m.name && m.bitSize === undefined) questions.push({ expr: `(unsigned long)&((struct ${name} *)0)->${m.name}`, ours: String(m.offset) });
      }
    }
    const args = ['-nx', '-batch'];
    for (const q of questions) args.push('-ex', `output ${q.expr}`, '-ex', 'echo \\n');
    const answers = execFileSync('gdb', [...args, kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n');
    assert.equal(answers.length, questions.length);
    const wrong = questions.filter((q, i) => answers[i] !== q.ours).map((q) => `${q.expr}: gdb ${answers[questions.indexOf(q)]}, btf ${q.ours}`);
    assert.deepEqual(wrong, []);
    assert.ok(questions.length > 500, `${questions.length} questions`);
  } finally {
    await elf.close();
  }
});
