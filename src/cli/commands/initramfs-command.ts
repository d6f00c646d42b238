import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { buildInitramfs } from '../../rootfs/index.js';
import { readCpioNewc } from '../../rootfs/cpio-newc-reader.js';
import { cpioListingLine } from '../../rootfs/cpio-newc-reader-listing.js';
import { KdiveError } from '../../errors.js';

interface InitramfsOptions {
  out?: string;
  guest?: string;
  add: string[];
  list?: string;
}

/** `kdive initramfs --out FILE --guest CMD [--add HOST:GUEST]...`, or `kdive initramfs --list FILE`. */
export function registerInitramfsCommand(program: Command): void {
  program
    .command('initramfs')
    .description('build a busybox initramfs (no root needed) whose /init runs a command and powers off; or list an archive (--list)')
    .option('-o, --out <file>', 'where to write the gzip-compressed cpio archive (required unless --list)')
    .option('-g, --guest <command>', 'shell command /init runs (required unless --list)')
    .option('-a, --add <host:guest>', 'copy a host file or folder into the archive (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('-l, --list <file>', 'list a cpio newc archive (gzip-compressed or not) as cpio -itvn does, and build nothing')
    .action(async (opts: InitramfsOptions) => {
      if (opts.list !== undefined) return listArchive(opts);
      // Required only when building; commander's own wording, so building reads as it always has.
      if (opts.out === undefined) throw new KdiveError("required option '-o, --out <file>' not specified (or --list FILE)", 2);
      if (opts.guest === undefined) throw new KdiveError("required option '-g, --guest <command>' not specified (or --list FILE)", 2);
      const add = opts.add.map((spec) => {
        const i = spec.lastIndexOf(':');
        if (i <= 0 || i === spec.length - 1) throw new KdiveError(`--add ${spec}: expected HOST:GUEST`, 2);
        return { host: spec.slice(0, i), guest: spec.slice(i + 1) };
      });
      await buildInitramfs({ guestCommand: opts.guest, out: opts.out, add });
      process.stdout.write(`${opts.out}\n`);
    });
}

/** One line per entry, as `cpio -itvn` prints them. */
async function listArchive(opts: InitramfsOptions): Promise<void> {
  const file = opts.list!;
  if (opts.out !== undefined || opts.guest !== undefined || opts.add.length > 0) {
    throw new KdiveError(`--list ${file} reads an archive: it takes no --out, --guest or --add`, 2);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new KdiveError(`cannot read ${file}: ${(err as Error).message}`);
  }
  process.stdout.write(readCpioNewc(bytes, file).map((e) => `${cpioListingLine(e)}\n`).join(''));
}
