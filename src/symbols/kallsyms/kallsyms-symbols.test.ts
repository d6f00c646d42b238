import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SymbolTable } from '../elf/index.js';
import { isPerCpu, kallsymsToElfSymbols, KALLSYMS_PERCPU_SECTION, KALLSYMS_SECTION } from './kallsyms-symbols.js';
import type { KallsymsSymbol } from './kallsyms-decoder.js';

const sym = (name: string, type: string, address: bigint, perCpu = false): KallsymsSymbol => ({ name, type, address, perCpu });

test('type letters give kind and binding; per-CPU symbols are objects in their own section', () => {
  const symbols = kallsymsToElfSymbols([
    sym('fixed_percpu_data', 'A', 0n, true),
    sym('cpu_number', 'A', 0x1f000n, true),
    sym('current_task', 'A', 0x1fb80n, true),
    sym('_text', 'T', 0xffffffff81000000n),
    sym('helper', 't', 0xffffffff81000100n),
    sym('arch_hook', 'W', 0xffffffff81000180n),
    sym('jiffies_64', 'D', 0xffffffff82000000n),
    sym('local_data', 'd', 0xffffffff82000040n),
    sym('weak_obj', 'V', 0xffffffff82000080n),
    sym('zeroed', 'b', 0xffffffff820a0000n),
  ]);
  const by = (name: string) => symbols.find((s) => s.name === name)!;
  assert.deepEqual(by('_text'), { name: '_text', address: 0xffffffff81000000n, size: 0x100, type: 'func', binding: 'global', sectionIndex: KALLSYMS_SECTION });
  assert.deepEqual([by('helper').type, by('helper').binding], ['func', 'local']);
  assert.deepEqual([by('arch_hook').type, by('arch_hook').binding], ['func', 'weak']);
  assert.deepEqual([by('jiffies_64').type, by('jiffies_64').binding], ['object', 'global']);
  assert.deepEqual([by('local_data').type, by('local_data').binding], ['object', 'local']);
  assert.deepEqual([by('weak_obj').type, by('weak_obj').binding], ['object', 'weak']);
  assert.equal(by('current_task').sectionIndex, KALLSYMS_PERCPU_SECTION);
  assert.ok(isPerCpu(by('current_task')) && !isPerCpu(by('_text')));
  // Sizes: the gap to the next higher address of the same kind, capped at 64 KiB; 0 for the last.
  assert.equal(by('fixed_percpu_data').size, 64 * 1024);
  assert.equal(by('cpu_number').size, 0xb80);
  assert.equal(by('current_task').size, 0);
  assert.equal(by('arch_hook').size, 64 * 1024); // the next symbol is in .rodata, far away
  assert.equal(by('weak_obj').size, 64 * 1024);
  assert.equal(by('zeroed').size, 0);
});

test('aliases at one address share the gap to the next address; SymbolTable looks them up', () => {
  const symbols = kallsymsToElfSymbols([
    sym('_text', 'T', 0xffffffff81000000n),
    sym('_stext', 'T', 0xffffffff81000000n),
    sym('do_mkdirat', 'T', 0xffffffff81000040n),
    sym('end', 't', 0xffffffff810001b0n),
  ]);
  assert.deepEqual(symbols.map((s) => s.size), [0x40, 0x40, 0x170, 0]);
  const table = SymbolTable.fromSymbols(symbols);
  assert.equal(table.functionAddress('do_mkdirat'), 0xffffffff81000040n);
  assert.deepEqual(table.symbolize(0xffffffff81000050n), { name: 'do_mkdirat', address: 0xffffffff81000040n, size: 0x170, offset: 0x10n });
});
