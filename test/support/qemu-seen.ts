import { readlinkSync } from 'node:fs';
import { ownProcesses } from './own-resources.js';

/**
 * The programs of the QEMUs this test process starts while `body` runs (their /proc/PID/exe),
 * sampled every 200 ms: proof of which QEMU a kdive command really ran.
 */
export async function qemuProgramsDuring<T>(body: () => Promise<T>): Promise<{ result: T; programs: Set<string> }> {
  const programs = new Set<string>();
  const sample = () => {
    for (const pid of ownProcesses('qemu-system')) {
      try {
        programs.add(readlinkSync(`/proc/${pid}/exe`));
      } catch {
        // ended between the listing and the readlink: the next sample or another QEMU tells
      }
    }
  };
  const timer = setInterval(sample, 200);
  try {
    const result = await body();
    return { result, programs };
  } finally {
    clearInterval(timer);
  }
}
