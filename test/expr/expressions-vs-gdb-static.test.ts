import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KernelSymbols } from '../../src/session/kernel-symbols.js';
import { ExpressionEngine, type ExpressionScope } from '../../src/expr/expression-engine.js';
import { sessionEngineSymbols } from '../../src/session/expression-scope.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/**
 * gdb reads initialized data straight from the vmlinux file when no target runs: the same
 * expressions evaluated by kdive over the file's bytes must print exactly as gdb prints them.
 */
export const STATIC_EXPRESSIONS = [
  'init_task.comm',
  'init_task.pid',
  'init_task.flags',
  '/x init_task.flags',
  '/o init_task.prio',
  '/t init_task.prio',
  '/d init_task.prio',
  '/c init_task.comm[0]',
  'init_task.comm[0]',
  'init_task.comm[1] + 1',
  '&init_task',
  '&init_task.tasks',
  'init_task.tasks',
  'init_task.prio - 100',
  'init_task.prio * 2 + 1',
  '(long)&init_task',
  '/x (unsigned long)&init_task',
  '(char)65',
  'sizeof(struct task_struct)',
  'sizeof(init_task.comm)',
  'sizeof init_task',
  'sizeof(long)',
  '(unsigned char)300',
  '-1',
  '10 / 3',
  '10 % 3',
  '1 << 10',
  '0x10 | 0x01',
  '7 & ~2',
  '3 > 2',
  '3 == 2 || 1',
  '1 ? 5 : 6',
  "'a'",
  'init_task.thread_info',
  'init_task.stack',
  'init_uts_ns.name',
  'init_uts_ns.name.release',
  'linux_banner',
  '*&init_task.pid',
  '(&init_task)->pid',
  '&init_task.comm',
  'init_task.comm + 1',
  'system_state',
  '/d system_state',
  '*init_task.tasks.next',
  'init_task.tasks.next->prev',
  '((struct task_struct *)&init_task)->comm',
  "init_task.comm[0] == 's'",
  'init_task.thread_info.flags',
  '/x init_task.thread_info',
  'init_uts_ns.name.sysname',
  'sizeof(struct list_head)',
  '(unsigned long)init_task.stack',
  '&init_task.comm[3]',
  'init_task.sched_reset_on_fork',
  'init_task.rcu_users',
  'init_task.usage',
  '&init_task.tasks == init_task.tasks.next',
  '(char *)&init_task.comm',
  'init_task.sched_class',
  'init_task.__state',
  'init_task.policy',
  'init_task.in_execve',
  'init_fs.umask',
  'init_task.cpus_ptr',
  'jiffies_64',
  'nr_cpu_ids',
  // Only declared in the DWARF (the linker script defines it): the type comes from an extern declaration.
  'jiffies',
  '/x jiffies',
  '&jiffies',
];

export const STATIC_TYPES = ['whatis init_task', 'whatis init_task.comm', 'whatis &init_task', 'whatis init_task.tasks.next', 'whatis init_task.sched_class', 'whatis sizeof(int)', 'whatis (char)1', 'whatis init_task.prio + 1L', 'ptype struct list_head', 'ptype init_task.tasks', 'ptype enum system_states', 'ptype struct callback_head', 'ptype init_task.sched_class', 'ptype unsigned long', 'whatis struct list_head', 'whatis jiffies', 'ptype jiffies', 'whatis init_task.stack_canary', 'whatis init_task.migration_flags', 'ptype s16', 'ptype __s64', 'ptype u8', 'ptype s8', 'ptype struct filename', 'whatis ((struct filename *)0)->iname'];

function gdbOutputs(vmlinux: string, commands: string[]): string[] {
  const args = ['-nx', '-batch'];
  for (const c of commands) args.push('-ex', `echo <<<\\n`, '-ex', c);
  const out = execFileSync('gdb', [...args, vmlinux], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('<<<\n').slice(1).map((s) => s.trim());
}

test('print and whatis agree with gdb on the vmlinux file (static data)', async () => {
  const kernel = await getDebianKernel();
  const symbols = await KernelSymbols.open(kernel.vmlinux!);
  try {
    const engine = new ExpressionEngine(symbols.dwarf!, sessionEngineSymbols(symbols));
    const scope: ExpressionScope = { readMemory: (a, n) => symbols.elf.readVirtual(a, n), readRegister: () => undefined };
    const printCmds = STATIC_EXPRESSIONS.map((e) => (e.startsWith('/') ? `print${e.split(' ')[0]} ${e.split(' ').slice(1).join(' ')}` : `print ${e}`));
    const expected = gdbOutputs(kernel.vmlinux!, [...printCmds, ...STATIC_TYPES]);
    const mismatches: string[] = [];
    for (const [i, e] of STATIC_EXPRESSIONS.entries()) {
      const fmt = e.startsWith('/') ? (e[1] as 'x') : undefined;
      const text = fmt ? e.split(' ').slice(1).join(' ') : e;
      let got: string;
      try {
        const r = await engine.print(text, scope, fmt);
        got = `$${r.number} = ${r.text}`;
      } catch (err) {
        got = (err as Error).message;
      }
      if (got !== expected[i]) mismatches.push(`print ${e}\n  gdb:   ${expected[i]}\n  kdive: ${got}`);
    }
    for (const [i, c] of STATIC_TYPES.entries()) {
      const arg = c.replace(/^(whatis|ptype) /, '');
      const got = `type = ${await (c.startsWith('ptype') ? engine.ptype(arg, scope) : engine.whatis(arg, scope)).catch((err: Error) => err.message)}`;
      if (got !== expected[STATIC_EXPRESSIONS.length + i]) mismatches.push(`${c}\n  gdb:   ${expected[STATIC_EXPRESSIONS.length + i]}\n  kdive: ${got}`);
    }
    assert.deepEqual(mismatches, [], mismatches.join('\n'));
  } finally {
    await symbols.close();
  }
});
