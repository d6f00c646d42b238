/**
 * scripts/kallsyms.c starts every table with `.balign 8` (4 on 32-bit kernels); a table found by
 * searching a buffer is checked for that by its address, `baseMod` being the buffer's start
 * address modulo 8.
 */

/** `offset` rounded up so that its address (≡ baseMod + offset) is a multiple of `align`. */
export function alignUp(offset: number, align: number, baseMod: number): number {
  return offset + ((align - ((baseMod + offset) % align)) % align);
}

/** `offset` rounded down so that its address is a multiple of `align`. */
export function alignDown(offset: number, align: number, baseMod: number): number {
  return offset - (((baseMod + offset) % align) + align) % align;
}
