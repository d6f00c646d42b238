import { KdiveError } from '../../errors.js';
import { readU64, type KernelView } from './kernel-view.js';

/**
 * The entries of a kernel `struct list_head` list (include/linux/list.h): from `head`, follow
 * `next` until back at `head`, giving each container's address (`container_of`).
 */
export async function listEntries(view: KernelView, head: bigint, memberOffset: number, max = 100_000): Promise<bigint[]> {
  const out: bigint[] = [];
  let node = await readU64(view, head);
  while (node !== head) {
    if (node === 0n) throw new KdiveError(`list at 0x${head.toString(16)} is broken: a NULL next pointer`);
    out.push(node - BigInt(memberOffset));
    if (out.length > max) throw new KdiveError(`list at 0x${head.toString(16)} has more than ${max} entries: a loop?`);
    node = await readU64(view, node);
  }
  return out;
}
