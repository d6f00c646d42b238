import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Writable } from 'node:stream';

/** File type bits of st_mode. */
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/**
 * A streaming writer of the cpio "newc" format (magic 070701) the kernel unpacks as an
 * initramfs. Device nodes are just headers, so no root is needed to make /dev/console.
 */
export class CpioNewcWriter {
  private ino = 1;
  private finished = false;

  constructor(private readonly out: Writable, private readonly mtime = Math.floor(Date.now() / 1000)) {}

  /** A writer whose archive is read from `stream` (a Readable); end it with finish() then `stream.end()`. */
  static toReadable(mtime?: number): { writer: CpioNewcWriter; stream: PassThrough } {
    const stream = new PassThrough();
    return { writer: new CpioNewcWriter(stream, mtime), stream };
  }

  async addDirectory(path: string, mode = 0o755): Promise<void> {
    await this.entry(path, S_IFDIR | (mode & 0o7777), Buffer.alloc(0), 2);
  }

  /** A regular file: its bytes, or (a string) the path of a host file streamed from disk. */
  async addFile(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
    if (typeof data === 'string') {
      await this.addFileFromDisk(path, data, (await stat(data)).size, mode);
      return;
    }
    await this.entry(path, S_IFREG | (mode & 0o7777), data);
  }

  /** Streams a host file into the archive without holding it in memory. */
  async addFileFromDisk(path: string, hostPath: string, size: number, mode = 0o644): Promise<void> {
    await this.header(path, S_IFREG | (mode & 0o7777), size, 1, 0, 0);
    let written = 0;
    for await (const chunk of createReadStream(hostPath)) {
      written += (chunk as Buffer).length;
      await this.write(chunk as Buffer);
    }
    if (written !== size) throw new Error(`${hostPath} changed size while being archived (${size} -> ${written})`);
    await this.write(Buffer.alloc(pad4(size)));
  }

  async addSymlink(path: string, target: string): Promise<void> {
    await this.entry(path, S_IFLNK | 0o777, Buffer.from(target));
  }

  async addDevice(path: string, type: 'c' | 'b', major: number, minor: number, mode = 0o600): Promise<void> {
    await this.header(path, (type === 'c' ? S_IFCHR : S_IFBLK) | (mode & 0o7777), 0, 1, major, minor);
  }

  /** Writes the `TRAILER!!!` entry; the stream is left open for the caller to end. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.header('TRAILER!!!', 0, 0, 1, 0, 0, 0);
  }

  private async entry(path: string, mode: number, data: Buffer, nlink = 1): Promise<void> {
    await this.header(path, mode, data.length, nlink, 0, 0);
    await this.write(data);
    await this.write(Buffer.alloc(pad4(data.length)));
  }

  private async header(path: string, mode: number, size: number, nlink: number, rdevMajor: number, rdevMinor: number, ino = this.ino++): Promise<void> {
    if (this.finished && path !== 'TRAILER!!!') throw new Error('cpio archive already finished');
    const clean = path.replace(/^\/+/, '');
    if (clean === '' || clean.includes('\0')) throw new Error(`cpio: bad entry name ${JSON.stringify(path)}`);
    const name = Buffer.from(`${clean}\0`);
    const fields = [ino, mode, 0, 0, nlink, this.mtime, size, 0, 0, rdevMajor, rdevMinor, name.length, 0];
    const head = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'latin1');
    // The header (110 bytes) plus the name is padded to a multiple of 4.
    await this.write(Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]));
  }

  private write(buf: Buffer): Promise<void> {
    if (buf.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.out.write(buf, (err) => (err ? reject(err) : resolve()));
    });
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}
