/**
 * x86-64 address plausibility, for values a stub reports (registers, saved return addresses):
 * a stub that lies or a corrupt stack gives values no CPU could hold, and printing a frame at
 * such a value would present garbage as a fact. The check is the looser 5-level-paging one
 * (bits 63..56 copy bit 56), so it holds for kernels with and without LA57.
 */
export function isCanonicalAddress(address: bigint): boolean {
  const top = BigInt.asUintN(64, address) >> 56n;
  return top === 0n || top === 0xffn;
}

/** A canonical address in the kernel's half (where kernel and module code live). */
export function isKernelAddress(address: bigint): boolean {
  return BigInt.asUintN(64, address) >> 56n === 0xffn;
}
