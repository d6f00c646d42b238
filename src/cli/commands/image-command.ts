import type { Command } from 'commander';
import { KdiveError } from '../../errors.js';
import { buildRootfsImage } from '../../rootfs/rootfs-image.js';
import { createImage, imageInfo, resizeImage, snapshotImage } from '../../vm/disk-image.js';

/** `kdive image create|info|resize`: qcow2 images through qemu-img. */
export function registerImageCommand(program: Command): void {
  const image = program.command('image').description('disk images (qcow2) for the VM');
  image
    .command('create <file> <size>')
    .description('create a qcow2 image (size like 2G)')
    .action(async (file: string, size: string) => {
      await createImage(file, size);
      process.stdout.write(`created ${file} (qcow2, ${size})\n`);
    });
  image
    .command('rootfs <file>')
    .description('create a qcow2 disk with an ext4 busybox root file system (no root needed); boot it with --disk FILE --root /dev/vda')
    .option('--size <size>', 'file system size', '256M')
    .option('-a, --add <host:guest>', 'copy a host file or folder into it (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (file: string, opts: { size: string; add: string[] }) => {
      const add = opts.add.map((spec) => {
        const i = spec.lastIndexOf(':');
        if (i <= 0) throw new KdiveError(`--add ${spec}: expected HOSTPATH:GUESTPATH`, 2);
        return { host: spec.slice(0, i), guest: spec.slice(i + 1) };
      });
      await buildRootfsImage({ out: file, size: opts.size, add });
      process.stdout.write(`created ${file} (qcow2, ext4 root file system with busybox, ${opts.size})\n`);
    });
  image
    .command('info <file>')
    .option('--json', 'JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const info = await imageInfo(file);
      if (opts.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else {
        process.stdout.write(`${file}: ${info.format}, ${info.virtualSize} bytes${info.actualSize !== undefined ? ` (${info.actualSize} on disk)` : ''}\n`);
        for (const s of info.snapshots) process.stdout.write(`  snapshot ${s.name} (id ${s.id}, ${s.date}${s.vmStateSize ? `, VM state ${s.vmStateSize} bytes` : ''})\n`);
      }
    });
  image
    .command('resize <file> <size>')
    .description('grow or shrink a qcow2 image (size like 4G or +1G)')
    .action(async (file: string, size: string) => {
      await resizeImage(file, size);
    });
}

/** `kdive snapshot save|load|list|delete IMAGE NAME`: snapshots of a stopped image (live ones: `snapshot` in kdive debug). */
export function registerImageSnapshotCommands(program: Command): void {
  const snap = program.command('snapshot').description('snapshots of a stopped qcow2 image (in kdive debug: of the running VM)');
  snap.command('save <image> <name>').action(async (file: string, name: string) => snapshotImage(file, 'create', name));
  snap.command('load <image> <name>').description('revert the image to a snapshot').action(async (file: string, name: string) => snapshotImage(file, 'apply', name));
  snap.command('delete <image> <name>').action(async (file: string, name: string) => snapshotImage(file, 'delete', name));
  snap.command('list <image>').action(async (file: string) => {
    for (const s of (await imageInfo(file)).snapshots) process.stdout.write(`${s.name}\t${s.date}\t${s.vmStateSize}\n`);
  });
}
