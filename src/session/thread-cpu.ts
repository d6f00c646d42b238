/** The QEMU gdbstub names vCPU n as thread n+1 ("01", or "p01.02" in multiprocess mode). */
export function cpuOfThread(threadId: string | undefined): number {
  if (!threadId) return 0;
  const tid = threadId.includes('.') ? threadId.split('.')[1]! : threadId.replace(/^p/, '');
  const n = parseInt(tid, 16);
  return Number.isFinite(n) && n > 0 ? n - 1 : 0;
}
