import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildInitramfs } from '../../src/rootfs/index.js';
import { launchQemu } from '../../src/vm/index.js';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { GdbRemoteTarget } from '../../src/target/gdb-remote/index.js';
import { connectTcp } from '../../src/transport/index.js';
import type { BenchContext, ItemResult } from '../bench-item.js';
import { median, resultLine, runTimed, type Sample } from '../measure.js';
import { GDB_HITS_SCRIPT } from './gdb-hits-script.js';
import type { QemuBinary } from '../../src/vm/qemu-binary.js';
import { bootGuest } from './boot-guest.js';

const TEXT_START = 0xffffffff81000000n; // _text with nokaslr

/** Reads a 64-bit kernel variable through the gdbstub (then lets go without resuming the VM). */
async function readU64Symbol(ctx: BenchContext, port: number, name: string): Promise<bigint> {
  const elf = await ElfFile.open(ctx.vmlinux);
  try {
    const sym = (await SymbolTable.fromElf(elf)).lookup(name)[0];
    if (!sym) throw new Error(`no symbol ${name}`);
    const target = await GdbRemoteTarget.connect(await connectTcp('127.0.0.1', port, { retryUntilMs: 5000 }), { profile: 'qemu' });
    try {
      return (await target.readMemory(sym.address, 8)).readBigUInt64LE(0);
    } finally {
      target.close();
    }
  } finally {
    await elf.close();
  }
}

function gdbPython(port: number, code: string): string[] {
  return ['-nx', '-batch', '-ex', `target remote 127.0.0.1:${port}`, '-ex', `python ${code}`, '-ex', 'detach'];
}

function gdbResult(stdout: string): number {
  const m = /^KDIVE-RESULT ([\d.e+-]+)$/m.exec(stdout);
  if (!m) throw new Error(`gdb printed no result:\n${stdout.slice(-1500)}`);
  return Number(m[1]);
}

/** Another QEMU than the system's, for the items that depend on the stub (QEMU 10). */
export interface QemuVariant {
  qemu: QemuBinary;
  /** `--qemu`'s value for kdive's own processes (`10`). */
  choice: string;
  /** Appended to titles and ids (`QEMU 10`). */
  label: string;
}

/**
 * Items 3-6: memory read throughput, single-step rate, breakpoint hits, the mkdir scenario. With a
 * variant: the 64 MB read, stepping and hits on that QEMU (the items the stub decides).
 */
export async function liveItems(ctx: BenchContext, variant?: QemuVariant): Promise<ItemResult[]> {
  const on = (id: string, title: string) => (variant ? { id: `${id}-${variant.choice}`, title: `${title} (${variant.label})` } : { id, title });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-bench-live-'));
  const [node, ...cli] = ctx.kdive;
  const worker = path.join(ctx.repoRoot, 'dist/bench/kdive-live-work.js');
  const items: ItemResult[] = [];
  try {
    // Memory reads and single steps on a guest kept busy in a shell loop (never idle in hlt).
    const vm = await bootGuest(ctx, 'while :; do :; done', dir, variant?.qemu);
    try {
      // 8 MB of kernel text, as gdb's reference figure was taken; 64 MB does not fit in the image,
      // so that one comes from the direct map of guest RAM (page_offset_base + 16 MB).
      const directMap = (await readU64Symbol(ctx, vm.gdb.port, 'page_offset_base')) + (16n << 20n);
      const sizes: [number, bigint, string][] = ctx.quick ? [[1 << 20, TEXT_START, 'kernel text']] : variant ? [[64 << 20, directMap, 'guest RAM (direct map)']] : [[8 << 20, TEXT_START, 'kernel text'], [64 << 20, directMap, 'guest RAM (direct map)']];
      for (const [size, start, what] of sizes) {
        const gdbRuns: Sample[] = [];
        const kdiveRuns: Sample[] = [];
        const ramRuns: Sample[] = [];
        let equalRuns = 0;
        let digest = '';
        const end = start + BigInt(size);
        const gdbOut = path.join(dir, 'gdb.bin');
        const kdiveOut = path.join(dir, 'kdive.bin');
        const gdbArgs = gdbPython(vm.gdb.port, `import time; t0=time.time(); gdb.execute("dump binary memory ${gdbOut} 0x${start.toString(16)} 0x${end.toString(16)}"); print("KDIVE-RESULT", time.time()-t0)`);
        const kdiveArgs = [worker, 'mem', String(vm.gdb.port), `0x${start.toString(16)}`, String(size), kdiveOut];
        const ramOut = path.join(dir, 'kdive-ram.bin');
        const ramArgs = [worker, 'mem', String(vm.gdb.port), `0x${start.toString(16)}`, String(size), ramOut, String(vm.pid)];
        for (let i = 0; i < ctx.runs; i++) {
          const k = await runTimed(node!, kdiveArgs);
          const kr = resultLine<{ seconds: number }>(k.stdout, `kdive mem: ${k.stderr}`);
          kdiveRuns.push({ value: size / (1 << 20) / kr.seconds, peakMB: k.peakMB });
          const r = await runTimed(node!, ramArgs);
          const rr = resultLine<{ seconds: number }>(r.stdout, `kdive mem (shared RAM): ${r.stderr}`);
          ramRuns.push({ value: size / (1 << 20) / rr.seconds, peakMB: r.peakMB });
          const g = await runTimed('gdb', gdbArgs);
          gdbRuns.push({ value: size / (1 << 20) / gdbResult(g.stdout), peakMB: g.peakMB });
          // A fast read of the wrong bytes is worth nothing.
          const [gdbBytes, kdiveBytes, ramBytes] = [await readFile(gdbOut), await readFile(kdiveOut), await readFile(ramOut)];
          if (gdbBytes.length !== size || !gdbBytes.equals(kdiveBytes)) throw new Error(`kdive's ${size}-byte read differs from gdb's dump`);
          if (!gdbBytes.equals(ramBytes)) throw new Error(`kdive's ${size}-byte read from the shared RAM differs from gdb's dump`);
          equalRuns++;
          digest = createHash('sha256').update(kdiveBytes).digest('hex').slice(0, 16);
        }
        items.push({
          ...on(`memory-read-${size >> 20}mb`, `Guest memory read, ${size >> 20} MB of ${what}: over QEMU's gdbstub, and from the RAM kdive shares with QEMU`),
          unit: 'MB/s',
          higherIsBetter: true,
          runs: [
            { tool: 'gdb', samples: gdbRuns, command: `gdb ${gdbArgs.map(q).join(' ')}` },
            { tool: 'kdive', samples: kdiveRuns, command: `${node} ${kdiveArgs.join(' ')}` },
            { tool: 'kdive (shared RAM)', samples: ramRuns, command: `${node} ${ramArgs.join(' ')}` },
          ],
          ratios: [['kdive', 'gdb'], ['kdive (shared RAM)', 'gdb']],
          notes: [
            'Timed inside each tool around the read alone; the bytes kdive read (both ways) are compared with gdb\'s dump in every run.',
            'kdive (shared RAM): the VM\'s RAM is a memfd QEMU shares (memory-backend-memfd,share=on, as for every VM kdive boots); kdive walks the guest\'s page tables from CR3 itself and reads the bytes in place. The stub is used only to stop the VM and read CR3.',
            `kdive's bytes equal gdb's dump in ${equalRuns} of ${ctx.runs} runs (sha256 ${digest}…).`,
          ],
        });
      }

      const steps = ctx.quick ? 200 : 2000;
      const gdbSteps: Sample[] = [];
      const kdiveSteps: Sample[] = [];
      const gdbStepArgs = gdbPython(vm.gdb.port, `import time; t0=time.time(); [gdb.execute("stepi", to_string=True) for i in range(${steps})]; print("KDIVE-RESULT", time.time()-t0)`);
      const kdiveStepArgs = [worker, 'step', String(vm.gdb.port), String(steps), String(vm.pid)];
      const qemuCpuPerStep: number[] = [];
      const kdiveMsPerStep: number[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        const k = await runTimed(node!, kdiveStepArgs);
        const kr = resultLine<{ seconds: number; qemuCpuMsPerStep?: number }>(k.stdout, `kdive step: ${k.stderr}`);
        kdiveSteps.push({ value: steps / kr.seconds, peakMB: k.peakMB });
        kdiveMsPerStep.push((kr.seconds * 1000) / steps);
        if (kr.qemuCpuMsPerStep !== undefined) qemuCpuPerStep.push(kr.qemuCpuMsPerStep);
        const g = await runTimed('gdb', gdbStepArgs);
        gdbSteps.push({ value: steps / gdbResult(g.stdout), peakMB: g.peakMB });
      }
      items.push({
        ...on('single-step', `Single-step rate (${steps} stepi)`),
        unit: 'steps/s',
        higherIsBetter: true,
        runs: [
          { tool: 'gdb', samples: gdbSteps, command: `gdb ${gdbStepArgs.map(q).join(' ')}` },
          { tool: 'kdive', samples: kdiveSteps, command: `${node} ${kdiveStepArgs.join(' ')}` },
        ],
        ratios: [['kdive', 'gdb']],
        notes: [
          `kdive sends one \`vCont;s\` per step and waits for its stop reply: nothing else. A step took ${kdiveMsPerStep.length ? fmtMs(median(kdiveMsPerStep)) : '?'} ms of kdive's wall time (median), of which QEMU's threads spent ${qemuCpuPerStep.length ? `${fmtMs(median(qemuCpuPerStep))} ms` : 'an unmeasured amount'} of CPU (read from /proc/PID/task/*/stat): at each debug stop QEMU drops its translated code (tb_flush) and translates again to run one instruction, so the stub's own work is the floor of a step.`,
        ],
      });
    } finally {
      await vm.kill();
    }

    // Breakpoint hits: the guest reads `count` bytes one at a time; each read() stops at ksys_read.
    const count = ctx.quick ? 100 : 1000;
    const kdiveHits: Sample[] = [];
    const gdbHits: Sample[] = [];
    const qemuCpuPerHit: number[] = [];
    const script = path.join(dir, 'hits.py');
    await writeFile(script, GDB_HITS_SCRIPT);
    const kdiveHitArgs = [worker, 'hits', ctx.bzImage, ctx.vmlinux, String(count), ...(variant ? [variant.choice] : [])];
    for (let i = 0; i < ctx.runs; i++) {
      const k = await runTimed(node!, kdiveHitArgs);
      const kr = resultLine<{ hits: number; seconds: number; qemuCpuMsPerHit?: number }>(k.stdout, `kdive hits: ${k.stderr}`);
      kdiveHits.push({ value: kr.hits / kr.seconds, peakMB: k.peakMB });
      if (kr.qemuCpuMsPerHit !== undefined) qemuCpuPerHit.push(kr.qemuCpuMsPerHit);
      const initrd = path.join(dir, 'hits.cpio.gz');
      await buildInitramfs({ guestCommand: `dd if=/dev/zero of=/dev/null bs=1 count=${count}`, out: initrd });
      const vm2 = await launchQemu({ kernel: ctx.bzImage, initrd, append: 'console=ttyS0 nokaslr panic=-1', memoryMiB: 512, halted: true, qemu: variant?.qemu });
      try {
        const g = await runTimed('gdb', ['-nx', '-batch', '-ex', `target remote 127.0.0.1:${vm2.gdb.port}`, '-x', script, '-ex', 'continue', '-ex', 'python report()', ctx.vmlinux]);
        const m = /^KDIVE-RESULT (\d+) ([\d.e+-]+)$/m.exec(g.stdout);
        if (!m) throw new Error(`gdb hits printed no result:\n${g.stdout.slice(-1500)}\n${g.stderr.slice(-1500)}`);
        gdbHits.push({ value: Number(m[1]) / Number(m[2]), peakMB: g.peakMB });
        // The guest's shell reads a few bytes of its own around dd: the counts agree to within a few.
        if (Math.abs(Number(m[1]) - kr.hits) > Math.max(8, kr.hits / 50)) throw new Error(`gdb counted ${m[1]} hits, kdive ${kr.hits}`);
      } finally {
        await vm2.kill();
      }
    }
    items.push({
      ...on('breakpoint-hits', `Breakpoint-hit throughput: ksys_read while \`dd bs=1 count=${count}\` runs, argument registers read at each hit`),
      unit: 'hits/s',
      higherIsBetter: true,
      runs: [
        { tool: 'gdb', samples: gdbHits, command: `gdb -nx -batch -ex 'target remote 127.0.0.1:PORT' -x hits.py -ex continue -ex 'python report()' VMLINUX  # hits.py: a gdb.Breakpoint whose stop() reads rdi/rsi/rdx and returns False` },
        { tool: 'kdive', samples: kdiveHits, command: `${node} ${kdiveHitArgs.join(' ')}` },
      ],
      ratios: [['kdive', 'gdb']],
      notes: [
        'Both measured from the first hit to the last; the hit counts of the two runs are checked to agree.',
        `Most of each hit is QEMU's own stop/resume cycle under TCG: during kdive's runs QEMU's threads spent ${qemuCpuPerHit.length ? `${fmtMs(median(qemuCpuPerHit))} ms` : 'an unmeasured amount'} of CPU per hit (median; read from /proc/PID/task/*/stat), while kdive's own share is one round trip (\`g\`; the NOP under the breakpoint is read once, at the first hit). kdive spends no single step per hit (it resumes past ftrace's entry NOP with \`c ADDR\`) and so avoids the two flushes of translated code a step costs; gdb removes, steps and re-inserts.`,
        "The floor both tools share: QEMU's gdbstub throws away all translated code at every breakpoint stop (\`tb_flush\` for RUN_STATE_DEBUG: in 7.2's \`gdb_vm_state_change\`, and still in 10.0's \`gdbstub/system.c\`), so after each hit the guest's hot path is translated again. No client can go below that cost over this stub.",
      ],
    });

    if (variant) return items;
    // The classic scenario end to end, boot included.
    const kdiveRun = [...cli, 'run', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test'];
    const gdbRun = [path.join(ctx.repoRoot, 'dist/bench/gdb-mkdir-scenario.js'), ctx.bzImage, ctx.vmlinux];
    const kdiveScenario: Sample[] = [];
    const gdbScenario: Sample[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const k = await runTimed(node!, kdiveRun);
      if (k.code !== 0 || !/entry_SYSCALL_64/.test(k.stdout)) throw new Error(`kdive run failed: ${k.stderr.slice(-500)}`);
      kdiveScenario.push({ value: k.seconds, peakMB: k.peakMB });
      const g = await runTimed(node!, gdbRun);
      resultLine(g.stdout, `gdb scenario: ${g.stderr}`);
      gdbScenario.push({ value: g.seconds, peakMB: g.peakMB });
    }
    items.push({
      id: 'mkdir-scenario',
      title: 'The mkdir scenario end to end: boot halted, break do_mkdirat, guest mkdir, backtrace, guest gone',
      unit: 's',
      higherIsBetter: false,
      runs: [
        { tool: 'gdb', samples: gdbScenario, command: `${node} ${gdbRun.join(' ')}   # QEMU -S + stock gdb: hbreak, continue, bt, kill` },
        { tool: 'kdive', samples: kdiveScenario, command: `${ctx.kdive.join(' ')} run --break do_mkdirat --guest 'mkdir /tmp/test'` },
      ],
      ratios: [['kdive', 'gdb']],
      notes: ['kdive also prints file:line, inlined frames and arguments, and lets the guest finish and power off; the gdb script kills QEMU after bt. Peak memory of the gdb row is the script\'s largest process (gdb).'],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return items;
}


function q(s: string): string {
  return /^[\w./:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function fmtMs(v: number): string {
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}
