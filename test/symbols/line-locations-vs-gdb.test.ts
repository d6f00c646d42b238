import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { DwarfInfo } from '../../src/symbols/dwarf/index.js';
import { BreakpointTable } from '../../src/session/breakpoints.js';
import { breakpointSetMessage, breakpointTable } from '../../src/commands/breakpoint-commands.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/**
 * Header lines inlined into hundreds of functions, .c lines inlined into others, and lines without
 * code (a function's declaration line, a blank line) that move to the next line with code.
 */
const LINES = [
  'include/linux/skbuff.h:1252',
  'include/linux/skbuff.h:1251',
  'include/linux/netlink.h:62',
  'include/linux/list.h:88',
  'net/socket.c:1643',
  'fs/namei.c:4168',
  'fs/namei.c:4169',
  'kernel/fork.c:2700',
  'mm/slub.c:3400',
  'net/core/skbuff.c:5000',
  'fs/open.c:1300',
];

test('break FILE:LINE: every location gdb finds, and the break and info breakpoints text gdb prints (gdb on the same vmlinux)', async () => {
  const kernel = await getDebianKernel();
  const vmlinux = kernel.vmlinux!;
  const args = ['-nx', '-batch'];
  for (const l of LINES) args.push('-ex', `break ${l}`);
  args.push('-ex', 'info breakpoints', vmlinux);
  const gdb = (await promisify(execFile)('gdb', args, { maxBuffer: 1 << 28 })).stdout.trimEnd();

  const dwarf = await DwarfInfo.open(await ElfFile.open(vmlinux));
  const table = new BreakpointTable();
  const said: string[] = [];
  for (const spec of LINES) {
    const [file, line] = spec.split(':');
    const found = await dwarf.lineLocations(file!, Number(line));
    const locations = found.locations.map((l) => ({ address: l.address, function: l.function, file: l.shortFile, line: l.line }));
    const bp = table.add(spec, locations[0]!.address, 'software', false, locations);
    said.push(breakpointSetMessage(bp, spec));
  }
  const ours = [...said, breakpointTable({ session: { breakpoints: table } })].join('\n');
  const gdbLines = gdb.split('\n');
  const ourLines = ours.split('\n');
  // Location counts first (the clearest message when they differ), then the whole text.
  for (const [i, spec] of LINES.entries()) assert.equal(said[i], gdbLines[i], `break ${spec}`);
  const differing = ourLines.map((l, i) => (l === gdbLines[i] ? '' : `line ${i + 1}\n  gdb:   ${gdbLines[i]}\n  kdive: ${l}`)).filter(Boolean);
  assert.equal(ourLines.length, gdbLines.length, 'as many lines as gdb');
  assert.deepEqual(differing.slice(0, 10), []);
  assert.ok(table.all()[0]!.locations.length > 400, 'skbuff.h:1252 is a header line with hundreds of locations');
});
