import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { disassemble } from '../../src/arch/x86_64/disassembler.js';
import { decodeEmulatedInstruction } from '../../src/arch/x86_64/entry-instruction.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';

const REG32: Record<string, string> = { rax: 'eax', rcx: 'ecx', rdx: 'edx', rbx: 'ebx', rsp: 'esp', rbp: 'ebp', rsi: 'esi', rdi: 'edi' };
const reg32 = (r: string) => REG32[r] ?? `${r}d`;

/** Every function's first instruction: what kdive would apply itself must be what iced-x86 decodes there. */
async function checkEntries(vmlinux: string): Promise<{ functions: number; emulated: number }> {
  const elf = await ElfFile.open(vmlinux);
  try {
    const table = await SymbolTable.fromElf(elf);
    let functions = 0;
    let emulated = 0;
    const seen = new Set<bigint>();
    for (const fn of table.functions()) {
      if (seen.has(fn.address) || fn.size === 0) continue;
      seen.add(fn.address);
      let code: Buffer;
      try {
        code = await elf.readVirtual(fn.address, 16);
      } catch {
        continue; // not in a loaded segment (init sections freed, absolute symbols)
      }
      functions++;
      const ours = decodeEmulatedInstruction(code);
      const [insn] = disassemble(code, fn.address, () => undefined, 1);
      if (!insn) continue;
      const text = insn.text.replace(/\s+/g, ' ');
      if (ours) {
        emulated++;
        assert.equal(ours.length, insn.length, `${fn.name}: ${text}`);
        if (ours.effect === 'none') assert.match(text, /^(nop[lw]?( |$)|endbr64|xchg %ax,%ax)/, `${fn.name}: ${text}`);
        else if (ours.effect === 'push') assert.equal(text, `push %${ours.register}`, fn.name);
        else assert.equal(text, ours.bits === 64 ? `mov %${ours.from},%${ours.to}` : `mov %${reg32(ours.from)},%${reg32(ours.to)}`, fn.name);
      } else {
        // Nothing of these shapes may be left to a single step.
        assert.doesNotMatch(text, /^(push %r\w+|mov %r\w+,%r\w+|nop|endbr64)$/, `${fn.name}: ${text} not applied`);
      }
    }
    return { functions, emulated };
  } finally {
    await elf.close();
  }
}

test('function entries of the Debian vmlinux and the KGDB vmlinux: each instruction kdive applies matches iced-x86', async () => {
  const debian = await checkEntries((await getDebianKernel()).vmlinux!);
  const kgdb = await checkEntries((await getKgdbKernel()).vmlinux!);
  // On disk the Debian kernel's entries are mostly `call __fentry__` (NOPs only once booted); the KGDB build starts with pushes.
  assert.ok(debian.emulated > 1000, JSON.stringify(debian));
  assert.ok(kgdb.emulated > kgdb.functions * 0.3, JSON.stringify(kgdb));
});
