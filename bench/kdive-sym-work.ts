/**
 * kdive's side of the symbol items, in one process as a user's `kdive sym` would run it:
 *   info-line-ptype VMLINUX      info line do_mkdirat + ptype struct task_struct
 *   indexed-type VMLINUX         ptype of a struct only the name index finds (struct tcp_sock)
 */
import { ElfFile, SymbolTable } from '../src/symbols/elf/index.js';
import { DwarfInfo } from '../src/symbols/dwarf/index.js';

const [mode, vmlinux] = process.argv.slice(2);
const elf = await ElfFile.open(vmlinux!);
const dwarf = await DwarfInfo.open(elf, () => SymbolTable.fromElf(elf));
if (mode === 'info-line-ptype') {
  const line = await dwarf.infoLine('do_mkdirat');
  const t = await dwarf.typeLayout('struct task_struct');
  process.stdout.write(`KDIVE-RESULT ${JSON.stringify({ line: line.line, members: t.members.length, size: t.size })}\n`);
} else if (mode === 'indexed-type') {
  const t = await dwarf.typeLayout('struct tcp_sock');
  process.stdout.write(`KDIVE-RESULT ${JSON.stringify({ size: t.size })}\n`);
} else throw new Error(`unknown mode ${mode}`);
await elf.close();
