import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Session } from '../../src/session/session.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** Pairs of (kdive print, gdb print) that must show the same text at the same stop. */
const SAME_TEXT: [string, string][] = [
  ['$rip', '$rip'],
  ['$pc', '$pc'],
  ['$rsp', '$rsp'],
  ['$rdi', '$rdi'],
  ['/x $rsi', '/x $rsi'],
  ['$eflags', '$eflags'],
  ['$cs', '$cs'],
  ['dfd', 'dfd'],
  ['mode', 'mode'],
  ['name', 'name'],
  ['*name', '*name'],
  ['name->name', 'name->name'],
  ['name->refcnt', 'name->refcnt'],
  ['/x name->uptr', '/x name->uptr'],
  ['name->iname', 'name->iname'],
  // gdb has no `current` (a macro): it reads the same per-CPU slot by hand.
  ['/x (unsigned long)current', '/x *(unsigned long *)($gs_base + (unsigned long)&current_task)'],
  ['current->pid', '((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))->pid'],
  ['/x current->flags', '/x ((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))->flags'],
  ['current->comm', '((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))->comm'],
  ['current->mm->mmap_base', '((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))->mm->mmap_base'],
  ['$percpu(cpu_number, 0)', '*(int *)(__per_cpu_offset[0] + (unsigned long)&cpu_number)'],
  // The kernel's spelling and scripts/gdb's functions (gdb has them only with vmlinux-gdb.py loaded).
  ['per_cpu(runqueues, 0).nr_running', '((struct rq *)(__per_cpu_offset[0] + (unsigned long)&runqueues))->nr_running'],
  ['/x &per_cpu(runqueues, 0)', '/x (struct rq *)(__per_cpu_offset[0] + (unsigned long)&runqueues)'],
  ['$lx_per_cpu("cpu_number", 0)', '*(int *)(__per_cpu_offset[0] + (unsigned long)&cpu_number)'],
  ['$lx_current().pid', '((struct task_struct *)*(unsigned long *)($gs_base + (unsigned long)&current_task))->pid'],
  ['$lx_current(0)->comm', '((struct task_struct *)*(unsigned long *)(__per_cpu_offset[0] + (unsigned long)&current_task))->comm'],
  ['jiffies == jiffies_64', 'jiffies == jiffies_64'],
  ['jiffies_64 > 0', 'jiffies_64 > 0'],
  ['init_task.comm', 'init_task.comm'],
];

test('values at a do_mkdirat stop agree with gdb attached to the same stop (registers, *name, current)', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test' });
  try {
    await session.addBreakpoint('do_mkdirat');
    const ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint');
    const ours: string[] = [];
    for (const [expr] of SAME_TEXT) {
      const fmt = expr.startsWith('/') ? (expr[1] as 'x') : undefined;
      const text = fmt ? expr.slice(3) : expr;
      ours.push(await session.print(text, { format: fmt }).then((r) => r.text, (e: Error) => `error: ${e.message}`));
    }
    const comm = ours[SAME_TEXT.findIndex(([e]) => e === 'current->comm')];
    assert.match(comm!, /^"mkdir/);
    // Hand the stopped VM to gdb: drop our connection without detaching (QEMU keeps the VM paused).
    session.target.close();
    const args = ['-nx', '-batch', '-ex', `target remote ${session.vm!.gdb.host}:${session.vm!.gdb.port}`];
    for (const [, g] of SAME_TEXT) args.push('-ex', 'echo <<<\\n', '-ex', g.startsWith('/') ? `print${g.slice(0, 2)} ${g.slice(3)}` : `print ${g}`);
    const out = execFileSync('gdb', [...args, kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const theirs = out.split('<<<\n').slice(1).map((s) => s.trim().split('\n')[0]!.replace(/^\$\d+ = /, ''));
    const mismatches = SAME_TEXT.map(([k, g], i) => (ours[i] === theirs[i] ? '' : `kdive p ${k}: ${ours[i]}\n   gdb p ${g}: ${theirs[i]}`)).filter(Boolean);
    assert.deepEqual(mismatches, [], mismatches.join('\n'));
  } finally {
    await session.close();
  }
});
