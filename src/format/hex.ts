/** Addresses print as gdb prints them: 0x-prefixed lowercase hex. */
export function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}
