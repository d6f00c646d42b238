import type { KallsymsEntry } from './kallsyms-writer.js';

export const SAMPLE_TEXT = 0xffffffff81000000n;
/** A name long enough (over 127 compressed bytes) to need the 2-byte "big symbol" length. */
export const BIG_NAME = `${'q'.repeat(180)}_big_symbol`;

/**
 * About 700 symbols sorted by address, as kallsyms holds them: per-CPU ones first (absolute,
 * small), then code, then data; more than 256 so there are several markers.
 */
export function sampleKallsyms(): KallsymsEntry[] {
  const list: KallsymsEntry[] = [
    { name: 'fixed_percpu_data', type: 'A', address: 0n, perCpu: true },
    { name: 'cpu_number', type: 'A', address: 0x1f000n, perCpu: true },
    { name: 'current_task', type: 'A', address: 0x1fb80n, perCpu: true },
    { name: '_text', type: 'T', address: SAMPLE_TEXT },
    { name: '_stext', type: 'T', address: SAMPLE_TEXT },
  ];
  for (let i = 0; i < 600; i++) list.push({ name: `func_${i}`, type: i % 3 === 0 ? 'T' : 't', address: SAMPLE_TEXT + 0x1000n + BigInt(i) * 0x40n });
  list.push(
    { name: 'do_mkdirat', type: 'T', address: SAMPLE_TEXT + 0x20000n },
    { name: 'arch_weak_hook', type: 'W', address: SAMPLE_TEXT + 0x20170n },
    { name: BIG_NAME, type: 't', address: SAMPLE_TEXT + 0x20200n },
    { name: 'entry_SYSCALL_64', type: 'T', address: SAMPLE_TEXT + 0x40000n },
  );
  for (let i = 0; i < 90; i++) {
    list.push({ name: `data_${i}`, type: 'DdBbRr'[i % 6]!, address: 0xffffffff82800000n + BigInt(i) * 0x100n });
  }
  return list;
}
