/**
 * kdive's side of the live items, run as its own process so its peak memory is its own:
 *   mem PORT ADDRESS LENGTH OUTFILE [QEMU_PID]
 *                                       read guest memory over the gdbstub, or (with QEMU's pid) from
 *                                       its shared RAM through kdive's page walk
 *   step PORT COUNT [QEMU_PID]          single-step COUNT instructions (and QEMU's CPU time per step)
 *   hits BZIMAGE VMLINUX COUNT [QEMU]   break on ksys_read while the guest reads COUNT bytes one at a time (QEMU: --qemu's values)
 *   awareness PORT VMLINUX [QEMU_PID]   time the task list and the printk ring (over the stub, or the shared RAM)
 *   kgdb-hits SOCKET VMLINUX            the same over kgdb, on a serial port (a unix socket) kgdb waits on
 */
import { readdirSync, readFileSync } from 'node:fs';
import { GdbRemoteTarget } from '../src/target/gdb-remote/index.js';
import { connectTcp } from '../src/transport/index.js';
import { Session } from '../src/session/session.js';
import { useSharedRam } from '../src/session/shared-ram.js';
import { dumpMemory } from '../src/session/memory-dump.js';
import { resolveQemu } from '../src/vm/qemu-choice.js';
import type { GuestMemory } from '../src/vm/guest-memory.js';
import { silentProgress } from '../src/progress/progress.js';

const [mode, ...args] = process.argv.slice(2);
const result = (r: Record<string, unknown>) => process.stdout.write(`KDIVE-RESULT ${JSON.stringify(r)}\n`);

async function attach(port: string): Promise<GdbRemoteTarget> {
  return GdbRemoteTarget.connect(await connectTcp('127.0.0.1', Number(port), { retryUntilMs: 5000 }), { profile: 'qemu' });
}

if (mode === 'mem') {
  const [port, address, length, out, qemuPid] = args;
  const target = await attach(port!);
  if (qemuPid) await useSharedRam(target, Number(qemuPid), 512, silentProgress);
  // What gdb's `dump binary memory` does, the file written included: the same work on both sides.
  const t0 = performance.now();
  const bytes = await dumpMemory((a, n, into) => target.readMemory(a, n, into), BigInt(address!), BigInt(address!) + BigInt(length!), out!);
  const seconds = (performance.now() - t0) / 1000;
  // A figure for the shared RAM must not come from the stub.
  if (qemuPid && (target.directMemory as GuestMemory | undefined)?.bytesRead !== bytes) throw new Error('the read did not come from the shared RAM');
  target.close(); // leave the VM stopped for the next client
  result({ seconds, bytes });
} else if (mode === 'step') {
  const [port, count, qemuPid] = args;
  const target = await attach(port!);
  const cpu0 = qemuCpuMs(qemuPid ? Number(qemuPid) : undefined);
  const t0 = performance.now();
  for (let i = 0; i < Number(count); i++) await target.step();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = qemuCpuMs(qemuPid ? Number(qemuPid) : undefined);
  target.close();
  result({ seconds, steps: Number(count), qemuCpuMsPerStep: cpu1 > 0 ? (cpu1 - cpu0) / Number(count) : undefined });
} else if (mode === 'hits') {
  const [bzImage, vmlinux, count, qemuChoice] = args;
  const session = await Session.boot({
    kernel: { spec: bzImage!, version: 'bench', bzImage: bzImage!, vmlinux: vmlinux! },
    guestCommand: `dd if=/dev/zero of=/dev/null bs=1 count=${count}`,
    ...(qemuChoice ? { qemu: await resolveQemu(qemuChoice) } : {}),
  });
  try {
    const cpu: number[] = [];
    const { hits, seconds } = await countHits(session, () => cpu.push(qemuCpuMs(session.vm?.pid)));
    const qemuCpuMsPerHit = hits > 1 && cpu.at(-1)! > 0 ? (cpu.at(-1)! - cpu[0]!) / (hits - 1) : undefined;
    result({ hits, seconds, qemuCpuMsPerHit });
  } finally {
    await session.close();
  }
} else if (mode === 'awareness') {
  // The task list and the printk ring, as lx-ps and lx-dmesg list them; the attach is not timed (gdb's load is not).
  const [port, vmlinux, qemuPid] = args;
  const session = await Session.attach({ port: Number(port), vmlinux: vmlinux! });
  try {
    if (qemuPid) await useSharedRam(session.target as GdbRemoteTarget, Number(qemuPid), 512, silentProgress);
    let t0 = performance.now();
    const tasks = await session.linux.tasks();
    const psSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const records = await session.linux.dmesgLines();
    const dmesgSeconds = (performance.now() - t0) / 1000;
    // Again, now that the types are resolved: what a second `ps` in the same session costs.
    t0 = performance.now();
    await session.linux.tasks();
    const psAgainSeconds = (performance.now() - t0) / 1000;
    if (qemuPid && !(session.target.directMemory as GuestMemory | undefined)?.bytesRead) throw new Error('nothing came from the shared RAM');
    result({ psSeconds, psAgainSeconds, tasks: tasks.length, dmesgSeconds, records: records.length });
  } finally {
    await session.detach();
    await session.close();
  }
} else if (mode === 'kgdb-hits') {
  const [socketPath, vmlinux] = args;
  const session = await Session.attach({ socketPath, vmlinux: vmlinux!, profile: 'kgdb' });
  try {
    result(await countHits(session));
  } finally {
    await session.close();
  }
} else throw new Error(`unknown mode ${mode}`);

/** Breaks on ksys_read until the guest ends, reading the argument registers at each hit; timed from the first hit to the last. */
async function countHits(session: Session, atHit: () => void = () => undefined): Promise<{ hits: number; seconds: number }> {
  await session.addBreakpoint('ksys_read');
  let hits = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    const ev = await session.resume();
    if (ev.kind === 'exit') break;
    if (ev.kind !== 'breakpoint') continue;
    await session.argumentRegisters(ev.threadId);
    if (hits === 0) first = performance.now();
    hits++;
    last = performance.now();
    atHit();
  }
  return { hits, seconds: (last - first) / 1000 };
}

/** CPU time (user + system, ms) QEMU's threads have used so far; 0 when /proc cannot tell. */
function qemuCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    let ticks = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      } catch {
        continue; // a worker thread that just ended
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    }
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}
