import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stopToJson, stopToText, type StopReport } from './stop-report.js';

const report: StopReport = {
  event: { kind: 'breakpoint', breakpoints: [{ id: 1, location: 'do_mkdirat', address: 0xffffffff813632a0n, locations: [{ address: 0xffffffff813632a0n, enabled: true }], kind: 'software', enabled: true, hits: 1, ignoreCount: 0, temporary: false }], threadId: '01', cpu: 0, pc: 0xffffffff813632a0n },
  args: [{ name: 'rdi', value: 0xffffff9cn }, { name: 'rsi', value: 0x10n }],
  backtrace: {
    frames: [
      { index: 0, pc: 0xffffffff813632a0n, sp: 0xffffc90000013f00n, function: 'do_mkdirat', offset: 0n, kind: 'initial', reliable: true, file: 'fs/namei.c', line: 4169, inlined: false, args: [{ name: 'dfd', type: 'int', value: '-100' }] },
      { index: 1, pc: 0xffffffff81363391n, sp: 0xffffc90000013f30n, function: '__x64_sys_mkdir', offset: 0x41n, kind: 'call', reliable: true, inlined: false },
      { index: 2, pc: 0xffffffff81c000d1n, sp: 0xffffc90000013f58n, function: 'entry_SYSCALL_64', offset: 0xd1n, kind: 'regs', reliable: true, inlined: false },
    ],
    end: { reason: 'user', user: { ip: 0x401000n, sp: 0x7ffe0000n, syscall: 83n } },
  },
};

test('the JSON stop event has the documented fields, addresses as hex strings', () => {
  const j = stopToJson(report) as any;
  assert.equal(j.event, 'stop');
  assert.equal(j.breakpoint, 'do_mkdirat');
  assert.equal(j.pc, '0xffffffff813632a0');
  assert.equal(j.cpu, 0);
  assert.deepEqual(j.frames[1], { pc: '0xffffffff81363391', function: '__x64_sys_mkdir', offset: 0x41, sp: '0xffffc90000013f30', kind: 'call', file: null, line: null, inlined: false, args: [], locals: [] });
  assert.equal(j.frames[0].file, 'fs/namei.c');
  assert.equal(j.frames[0].line, 4169);
  assert.equal(j.registers.rdi, '0xffffff9c');
  assert.deepEqual(j.unwindEnd, { reason: 'user', user: { ip: '0x401000', sp: '0x7ffe0000', syscall: 83 } });
  // Survives a JSON round trip (no bigint left anywhere).
  assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
});

test('the text form reads like gdb: breakpoint line, args, numbered frames, the user boundary', () => {
  const text = stopToText(report);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Breakpoint 1, do_mkdirat (0xffffffff813632a0) on CPU 0');
  assert.equal(lines[1], '  args: rdi=0xffffff9c rsi=0x10');
  assert.match(lines[2]!, /^#0\s+0xffffffff813632a0 in do_mkdirat\+0x0 \(dfd=-100\) at fs\/namei.c:4169$/);
  assert.match(lines[3]!, /^#1\s+0xffffffff81363391 in __x64_sys_mkdir\+0x41$/);
  assert.match(lines[4]!, /entry_SYSCALL_64\+0xd1  \[interrupt\/syscall frame\]$/);
  assert.match(lines[5]!, /user space: rip=0x401000 rsp=0x7ffe0000, syscall 83/);
});
