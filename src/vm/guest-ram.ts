import { readSync } from 'node:fs';
import { open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { KdiveError } from '../errors.js';

/**
 * The RAM of a QEMU that kdive started, read in place: QEMU keeps it in a memfd
 * (`memory-backend-memfd,share=on`), and the memfd is reachable as /proc/PID/fd/N by its owner.
 * Physical addresses map onto the file as QEMU's q35 machine lays RAM out: below 4 GiB up to
 * `below4g` (2 GiB when the RAM is 2.75 GiB or more, else all of it), the rest from 4 GiB up.
 * Reads only: writes go through the stub, so QEMU drops the code it translated from those bytes.
 */
export class GuestRam {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly below4g: number,
  ) {}

  static async open(pid: number, ramBytes: number): Promise<GuestRam> {
    const dir = `/proc/${pid}/fd`;
    const fds = await readdir(dir).catch((err: Error) => {
      throw new KdiveError(`cannot look at QEMU's files (${dir}): ${err.message}`);
    });
    for (const fd of fds) {
      // A descriptor closed between readdir and readlink: not the one we look for.
      const target = await readlink(path.join(dir, fd)).catch(() => '');
      if (!target.startsWith('/memfd:')) continue;
      const fh = await open(path.join(dir, fd), 'r');
      const { size } = await fh.stat();
      if (size === ramBytes) return new GuestRam(fh, size, ramBytes >= 0xb000_0000 ? 0x8000_0000 : ramBytes);
      await fh.close();
    }
    throw new KdiveError(`QEMU (pid ${pid}) has no shared RAM of ${ramBytes} bytes (was it started with memory-backend-memfd,share=on?)`);
  }

  /** The file offset of a guest-physical address, or undefined where q35 has no RAM (MMIO, ROM, the PCI hole). */
  offsetOf(pa: bigint): number | undefined {
    if (pa < 0xa0000n) return Number(pa);
    // 640 KiB-1 MiB is VGA memory and option ROMs to the guest, whatever the file holds there.
    if (pa < 0x100000n) return undefined;
    if (pa < BigInt(this.below4g)) return Number(pa);
    const high = pa - 0x1_0000_0000n;
    if (high >= 0n && high < BigInt(this.size - this.below4g)) return this.below4g + Number(high);
    return undefined;
  }

  /** `length` bytes at a guest-physical address within one RAM range, or undefined when it is not all RAM. */
  async read(pa: bigint, length: number, into: Buffer = Buffer.alloc(length), at = 0): Promise<Buffer | undefined> {
    const start = this.offsetOf(pa);
    const last = length > 0 ? this.offsetOf(pa + BigInt(length - 1)) : start;
    if (start === undefined || last === undefined || last - start !== length - 1) return undefined;
    // Synchronous: the file is memory (a memfd), so a read never waits for a disk, and the
    // thread-pool hop of an async read would cost more than the copy (a task list is ~1,000 small reads).
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.fh.fd, into, at + done, length - done, start + done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    return into;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined); // closed already: nothing to release
  }
}
