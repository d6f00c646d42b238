import { readU64, requireSymbol, type KernelView } from './kernel-view.js';

/** One printk record (kernel/printk/printk_ringbuffer.h). */
export interface PrintkRecord {
  seq: bigint;
  timestampNs: bigint;
  level: number;
  facility: number;
  text: string;
}

const DESC_ID_MASK = ~(3n << 62n) & ((1n << 64n) - 1n);

/**
 * The lockless printk ring of 5.10+ kernels, read as the kernel's own get_data() does: from the
 * tail descriptor to the head, committed and finalized records, wrapped data blocks included.
 */
export async function readPrintkRing(view: KernelView): Promise<PrintkRecord[]> {
  const t = view.types;
  const RB = 'struct printk_ringbuffer';
  const rb = await readU64(view, requireSymbol(view, 'prb'));
  const descRing = rb + BigInt(await t.offsetOf(RB, 'desc_ring'));
  const dataRing = rb + BigInt(await t.offsetOf(RB, 'text_data_ring'));
  const D = 'struct prb_desc_ring';
  const countBits = (await view.read(descRing + BigInt(await t.offsetOf(D, 'count_bits')), 4)).readUInt32LE(0);
  const descs = await readU64(view, descRing + BigInt(await t.offsetOf(D, 'descs')));
  const infos = await readU64(view, descRing + BigInt(await t.offsetOf(D, 'infos')));
  const headId = await readU64(view, descRing + BigInt(await t.offsetOf(D, 'head_id')));
  const tailId = await readU64(view, descRing + BigInt(await t.offsetOf(D, 'tail_id')));
  const R = 'struct prb_data_ring';
  const sizeBits = (await view.read(dataRing + BigInt(await t.offsetOf(R, 'size_bits')), 4)).readUInt32LE(0);
  const data = await readU64(view, dataRing + BigInt(await t.offsetOf(R, 'data')));
  const descSize = BigInt(await t.sizeOf('struct prb_desc'));
  const infoSize = BigInt(await t.sizeOf('struct printk_info'));
  const stateOff = await t.offsetOf('struct prb_desc', 'state_var');
  const beginOff = await t.offsetOf('struct prb_desc', 'text_blk_lpos.begin');
  const nextOff = await t.offsetOf('struct prb_desc', 'text_blk_lpos.next');
  const I = 'struct printk_info';
  const seqOff = await t.offsetOf(I, 'seq');
  const tsOff = await t.offsetOf(I, 'ts_nsec');
  const lenOff = await t.offsetOf(I, 'text_len');
  const facOff = await t.offsetOf(I, 'facility');
  const count = 1n << BigInt(countBits);
  const size = 1n << BigInt(sizeBits);
  const mask = size - 1n;
  // Read the descriptor and info arrays and the text ring whole: a few hundred KiB, in pipelined packets.
  const [descBuf, infoBuf, text] = await Promise.all([view.read(descs, Number(count * descSize)), view.read(infos, Number(count * infoSize)), view.read(data, Number(size))]);
  const out: PrintkRecord[] = [];
  for (let id = tailId, guard = 0n; guard <= count; id = (id + 1n) & DESC_ID_MASK, guard++) {
    const d = Number((id % count) * descSize);
    const sv = descBuf.readBigUInt64LE(d + stateOff);
    const state = sv >> 62n;
    if ((sv & DESC_ID_MASK) === id && (state === 1n || state === 2n)) {
      const i = Number((id % count) * infoSize);
      const textLen = infoBuf.readUInt16LE(i + lenOff);
      const levelByte = infoBuf[i + facOff + 1]!;
      const begin = descBuf.readBigUInt64LE(d + beginOff);
      const next = descBuf.readBigUInt64LE(d + nextOff);
      let body = '';
      if ((begin & 1n) === 0n) {
        let blk: bigint | undefined;
        let blkSize = 0n;
        if (begin >> BigInt(sizeBits) === next >> BigInt(sizeBits) && begin < next) {
          blk = begin & mask;
          blkSize = next - begin;
        } else if ((begin + size) >> BigInt(sizeBits) === next >> BigInt(sizeBits)) {
          blk = 0n;
          blkSize = next & mask;
        }
        if (blk !== undefined && blkSize >= 8n) {
          const start = Number(blk) + 8;
          body = text.subarray(start, start + Math.min(textLen, Number(blkSize) - 8)).toString('utf8');
        }
      }
      out.push({ seq: infoBuf.readBigUInt64LE(i + seqOff), timestampNs: infoBuf.readBigUInt64LE(i + tsOff), facility: infoBuf[i + facOff]!, level: levelByte >> 5, text: body });
    }
    if (id === headId) break;
  }
  return out;
}

/** dmesg's lines: `[    1.234567] text`, one per line of each record. */
export function formatDmesg(records: PrintkRecord[]): string[] {
  const lines: string[] = [];
  for (const r of records) {
    const secs = r.timestampNs / 1_000_000_000n;
    const micros = (r.timestampNs % 1_000_000_000n) / 1000n;
    const stamp = `[${secs.toString().padStart(5, ' ')}.${micros.toString().padStart(6, '0')}] `;
    for (const line of r.text.split('\n')) lines.push(stamp + line);
  }
  return lines;
}
