import type { Command } from 'commander';
import { buildInitramfs } from '../../rootfs/index.js';
import { KdiveError } from '../../errors.js';

/** `kdive initramfs --out FILE --guest CMD [--add HOST:GUEST]...` */
export function registerInitramfsCommand(program: Command): void {
  program
    .command('initramfs')
    .description('build a busybox initramfs (no root needed) whose /init runs a command and powers off')
    .requiredOption('-o, --out <file>', 'where to write the gzip-compressed cpio archive')
    .requiredOption('-g, --guest <command>', 'shell command /init runs')
    .option('-a, --add <host:guest>', 'copy a host file or folder into the archive (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .action(async (opts: { out: string; guest: string; add: string[] }) => {
      const add = opts.add.map((spec) => {
        const i = spec.lastIndexOf(':');
        if (i <= 0 || i === spec.length - 1) throw new KdiveError(`--add ${spec}: expected HOST:GUEST`, 2);
        return { host: spec.slice(0, i), guest: spec.slice(i + 1) };
      });
      await buildInitramfs({ guestCommand: opts.guest, out: opts.out, add });
      process.stdout.write(`${opts.out}\n`);
    });
}
