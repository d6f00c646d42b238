import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ElfSymbol } from '../elf/symbol-table.js';
import { SymbolTable } from '../elf/symbol-table.js';
import { markInnerLabels } from './inner-labels.js';

const sym = (name: string, address: bigint, size: number): ElfSymbol => ({ name, address, size, type: 'func', binding: 'global', sectionIndex: 1 });

test('an assembly label inside a function names no code of its own; a function that merely shares a prefix keeps its name', () => {
  const symbols = [
    sym('entry_SYSCALL_64', 0x1000n, 0x29),
    sym('entry_SYSCALL_64_safe_stack', 0x1029n, 0x0f),
    sym('entry_SYSCALL_64_after_hwframe', 0x1038n, 0x100),
    sym('memcpy', 0x2000n, 0x20),
    sym('memcpy_orig', 0x2020n, 0x40), // an assembly function entered by a call
    sym('do_mkdirat', 0x3000n, 0x100),
    sym('do_mkdirat_helper', 0x3100n, 0x10), // in BTF: a C function
  ];
  const calledAt = new Set([0x1000n, 0x2000n, 0x2020n, 0x3000n]);
  const marked = markInnerLabels(symbols, (n) => n === 'do_mkdirat_helper' || n === 'do_mkdirat', (a) => calledAt.has(a));
  assert.equal(marked, 2);
  const table = SymbolTable.fromSymbols(symbols);
  assert.equal(table.symbolize(0x1040n)?.name, 'entry_SYSCALL_64');
  assert.equal(table.symbolize(0x1040n)?.offset, 0x40n);
  assert.equal(table.symbolize(0x2030n)?.name, 'memcpy_orig');
  assert.equal(table.symbolize(0x3105n)?.name, 'do_mkdirat_helper');
  // Still found by name, for a breakpoint on the label.
  assert.equal(table.lookup('entry_SYSCALL_64_after_hwframe')[0]?.address, 0x1038n);
});
