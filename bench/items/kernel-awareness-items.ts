import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext, ItemResult } from '../bench-item.js';
import { resultLine, runTimed, type Sample } from '../measure.js';
import { bootGuest } from './boot-guest.js';

/**
 * `ps` of 100+ tasks and the whole printk ring: kdive (over the gdbstub, and from the shared RAM)
 * against gdb running the kernel's own `lx-ps` and `lx-dmesg` (scripts/gdb), the tools kernel
 * developers use today, on the same stopped VM. Only the listing is timed on either side (gdb's
 * DWARF load and kdive's attach are not).
 */
export async function kernelAwarenessItems(ctx: BenchContext): Promise<ItemResult[]> {
  if (!ctx.scriptsGdb) return [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-bench-aware-'));
  const [node] = ctx.kdive;
  const worker = path.join(ctx.repoRoot, 'dist/bench/kdive-live-work.js');
  // 100 sleepers besides the kernel's own threads, then a busy loop (never idle in hlt).
  const vm = await bootGuest(ctx, 'for i in $(seq 100); do sleep 1000 & done; while :; do :; done', dir);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const py = 'import time\nt0=time.time(); ps=gdb.execute("lx-ps", to_string=True); t1=time.time(); dm=gdb.execute("lx-dmesg", to_string=True); t2=time.time()\nprint("KDIVE-RESULT", t1-t0, len(ps.strip().splitlines())-1, t2-t1, len(dm.strip().splitlines()))';
    const pyFile = path.join(dir, 'lx.py');
    await writeFile(pyFile, py);
    const gdbArgs = ['-nx', '-batch', '-ex', 'set auto-load safe-path /', '-ex', `source ${ctx.scriptsGdb}`, '-ex', `target remote 127.0.0.1:${vm.gdb.port}`, '-x', pyFile, '-ex', 'detach', ctx.vmlinux];
    const stubArgs = [worker, 'awareness', String(vm.gdb.port), ctx.vmlinux];
    const ramArgs = [...stubArgs, String(vm.pid)];
    const ps: Record<string, Sample[]> = { gdb: [], kdive: [], 'kdive (shared RAM)': [], 'kdive (shared RAM), second ps': [] };
    const dmesg: Record<string, Sample[]> = { gdb: [], kdive: [], 'kdive (shared RAM)': [] };
    const counts: string[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const g = await runTimed('gdb', gdbArgs, { timeoutMs: 300_000 });
      const m = /^KDIVE-RESULT ([\d.e+-]+) (\d+) ([\d.e+-]+) (\d+)$/m.exec(g.stdout);
      if (!m) throw new Error(`lx-ps/lx-dmesg printed no result:\n${g.stdout.slice(-1500)}\n${g.stderr.slice(-1500)}`);
      ps.gdb!.push({ value: Number(m[1]), peakMB: g.peakMB });
      dmesg.gdb!.push({ value: Number(m[3]), peakMB: g.peakMB });
      for (const [tool, args] of [['kdive', stubArgs], ['kdive (shared RAM)', ramArgs]] as const) {
        const k = await runTimed(node!, [...args]);
        const r = resultLine<{ psSeconds: number; psAgainSeconds: number; tasks: number; dmesgSeconds: number; records: number }>(k.stdout, `kdive awareness: ${k.stderr}`);
        ps[tool]!.push({ value: r.psSeconds, peakMB: k.peakMB });
        if (tool === 'kdive (shared RAM)') ps['kdive (shared RAM), second ps']!.push({ value: r.psAgainSeconds, peakMB: k.peakMB });
        dmesg[tool]!.push({ value: r.dmesgSeconds, peakMB: k.peakMB });
        // The same tasks: lx-ps lists one line per task, as kdive's list has one entry per task.
        if (Math.abs(r.tasks - Number(m[2])) > 2) throw new Error(`lx-ps listed ${m[2]} tasks, kdive ${r.tasks}`);
        counts.push(`${tool}: ${r.tasks} tasks, ${r.records} records (lx-ps ${m[2]} tasks, lx-dmesg ${m[4]} lines)`);
      }
    }
    const runsOf = (samples: Record<string, Sample[]>, what: string) => [
      { tool: 'gdb', samples: samples.gdb!, command: `gdb ${gdbArgs.join(' ')}   # ${what} timed inside gdb` },
      { tool: 'kdive', samples: samples.kdive!, command: `${node} ${stubArgs.join(' ')}` },
      { tool: 'kdive (shared RAM)', samples: samples['kdive (shared RAM)']!, command: `${node} ${ramArgs.join(' ')}` },
      ...(samples['kdive (shared RAM), second ps'] ? [{ tool: 'kdive (shared RAM), second ps', samples: samples['kdive (shared RAM), second ps'], command: `${node} ${ramArgs.join(' ')}   # psAgainSeconds: the same list again, its types resolved` }] : []),
    ];
    const notes = [
      `gdb runs the kernel's own scripts/gdb (vmlinux-gdb.py, built with \`make scripts_gdb\` from the kernel's source and config); the guest runs 100 sleepers. Counted in the last run: ${counts.slice(-2).join('; ')}.`,
      `Median seconds; peak memory is the process's (gdb's includes its load of the vmlinux's DWARF).`,
    ];
    return [
      { id: 'ps', title: 'The task list of a guest with 100+ tasks: lx-ps against kdive\'s ps', unit: 's', higherIsBetter: false, runs: runsOf(ps, 'lx-ps'), ratios: [['kdive', 'gdb'], ['kdive (shared RAM)', 'gdb'], ['kdive (shared RAM), second ps', 'gdb']], notes: [...notes, 'kdive\'s first ps in a session resolves struct task_struct\'s members from DWARF (gdb loaded all of its DWARF before the timed part); the second ps is the list alone.'] },
      { id: 'dmesg', title: 'The whole printk ring: lx-dmesg against kdive\'s dmesg', unit: 's', higherIsBetter: false, runs: runsOf(dmesg, 'lx-dmesg'), ratios: [['kdive', 'gdb'], ['kdive (shared RAM)', 'gdb']], notes },
    ];
  } finally {
    await vm.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
