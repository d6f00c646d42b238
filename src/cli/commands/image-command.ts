import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { KdiveError } from '../../errors.js';
import { QmpClient } from '../../vm/qmp-client.js';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot } from '../../vm/live-snapshots.js';
import { buildRootfsImage } from '../../rootfs/rootfs-image.js';
import { createImage, imageInfo, resizeImage, snapshotImage } from '../../vm/disk-image.js';
import { checkSize } from './flag-values.js';

/** `kdive image create|info|resize`: qcow2 images through qemu-img. */
export function registerImageCommand(program: Command): void {
  const image = program.command('image').description('disk images (qcow2) for the VM');
  image
    .command('create <file> <size>')
    .description('create a qcow2 image (size like 2G)')
    .action(async (file: string, size: string) => {
      await createImage(file, checkSize('size', size));
      process.stdout.write(`created ${file} (qcow2, ${size})\n`);
    });
  image
    .command('rootfs <file>')
    .description('create a qcow2 disk with an ext4 busybox root file system (no root needed); boot it with --disk FILE --root /dev/vda')
    .addOption(new Option('--size <size>', 'file system size').argParser((v) => checkSize('--size', v)).default('256M'))
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
      await resizeImage(file, checkSize('size', size, true));
    });
}

/**
 * `kdive snapshot save|load|list|delete IMAGE NAME`: snapshots of a stopped image; with
 * `--vm SOCKET` (the control socket `kdive boot` prints) NAME is a live snapshot of the running VM.
 */
export function registerImageSnapshotCommands(program: Command): void {
  const snap = program.command('snapshot').description('snapshots of a stopped qcow2 image, or with --vm of a running kdive boot VM (in kdive debug: the snapshot command)');
  const actions = [
    ['save', 'create', 'save a snapshot'],
    ['load', 'apply', 'revert to a snapshot'],
    ['delete', 'delete', 'delete a snapshot'],
  ] as const;
  for (const [verb, action, what] of actions) {
    snap
      .command(`${verb} <args...>`)
      .description(`${what}: IMAGE NAME, or --vm SOCKET NAME`)
      .option('--vm <socket>', 'the live VM of a kdive boot (its control socket)')
      .action(async (args: string[], opts: { vm?: string }) => {
        if (opts.vm) {
          if (args.length !== 1) throw new KdiveError(`kdive snapshot ${verb} --vm SOCKET NAME: one snapshot name expected`, 2);
          await withLiveVm(opts.vm, (qmp) => ({ save: saveSnapshot, load: loadSnapshot, delete: deleteSnapshot })[verb](qmp, args[0]!));
        } else {
          if (args.length !== 2) throw new KdiveError(`kdive snapshot ${verb} IMAGE NAME: an image and a snapshot name expected`, 2);
          await snapshotImage(args[0]!, action, args[1]!);
        }
      });
  }
  snap
    .command('list [image]')
    .option('--vm <socket>', 'the live VM of a kdive boot (its control socket)')
    .action(async (file: string | undefined, opts: { vm?: string }) => {
      if (opts.vm) {
        for (const name of await withLiveVm(opts.vm, listSnapshots)) process.stdout.write(`${name}\n`);
        return;
      }
      if (!file) throw new KdiveError('kdive snapshot list IMAGE, or --vm SOCKET', 2);
      for (const s of (await imageInfo(file)).snapshots) process.stdout.write(`${s.name}\t${s.date}\t${s.vmStateSize}\n`);
    });
}

async function withLiveVm<T>(socket: string, work: (qmp: QmpClient) => Promise<T>): Promise<T> {
  if (!existsSync(socket)) throw new KdiveError(`--vm ${socket}: no such socket (is the kdive boot that printed it still running?)`, 2);
  const qmp = await QmpClient.connect(socket, 3000);
  try {
    return await work(qmp);
  } finally {
    qmp.close();
  }
}
