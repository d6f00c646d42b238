import { open } from 'node:fs/promises';
import { QCOW2_MAGIC, checkQcow2Header, type Qcow2Summary } from './qcow2-header.js';

/** The default cluster size; larger clusters (up to 2 MiB) are read whole when the header says so. */
const FIRST_READ = 64 << 10;

/**
 * The checked header of `file` when it is a qcow2 image (it starts with the magic); undefined when
 * it is not one. A corrupt header is a FormatError naming the field; a file that cannot be opened
 * or read is an fs error, for the caller to report as it does for any other image.
 */
export async function readQcow2Header(file: string): Promise<Qcow2Summary | undefined> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const first = await readAt(handle, Math.min(FIRST_READ, size));
    if (!first.subarray(0, 4).equals(QCOW2_MAGIC)) return undefined;
    // The header, its extensions and the backing file name are in the first cluster.
    const clusterBits = first.length >= 24 ? first.readUInt32BE(20) : 0;
    const clusterSize = clusterBits >= 9 && clusterBits <= 21 ? 2 ** clusterBits : 0;
    const bytes = clusterSize > first.length ? await readAt(handle, Math.min(clusterSize, size)) : first;
    return checkQcow2Header(bytes, file, size);
  } finally {
    await handle.close();
  }
}

async function readAt(handle: Awaited<ReturnType<typeof open>>, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, 0);
  return buf.subarray(0, bytesRead);
}
