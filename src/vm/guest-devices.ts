import path from 'node:path';
import { KdiveError } from '../errors.js';
import { KernelConfig } from '../kernels/kernel-config.js';
import { kernelModuleTree } from '../kernels/kernel-modules.js';
import type { KernelArtifacts } from '../kernels/kernel-artifacts.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { imageInfo } from './disk-image.js';
import { checkHostPortFree, GUEST_NETWORK_SETUP, portForwardArgs, type PortForward } from './port-forward.js';
import { startVirtiofsd, type RunningVirtiofsd, type SharedFolder } from './virtiofs-share.js';

/** What the VM gets besides its initramfs: port forwards, shared folders, disks, a root device. */
export interface GuestDevicesOptions {
  forwards?: readonly PortForward[];
  shares?: readonly SharedFolder[];
  /** Disk images, attached as virtio disks /dev/vda, /dev/vdb... */
  disks?: readonly string[];
  /** `root=` for the kernel: /init mounts it and switches to it (e.g. /dev/vda). */
  root?: string;
  /**
   * A pvpanic device with QEMU's `-action panic=pause`: a panicking kernel stops for the debugger
   * instead of rebooting away. Left out quietly when the kernel has no pvpanic driver.
   */
  pvpanic?: boolean;
}

/** The QEMU arguments, modules and /init lines that make the devices work in the guest. */
export interface PreparedGuestDevices {
  qemuArgs: string[];
  /** virtiofs needs guest RAM QEMU can share with virtiofsd. */
  sharedMemory: boolean;
  /** .ko files for the initramfs, in load order. */
  modules: string[];
  extraInit: string;
  /** Folders the initramfs should hold already (mount points), so /init makes none. */
  directories: string[];
  append: string[];
  /** Ends helper processes (virtiofsd). */
  stop(): void;
}

interface Requirement {
  option: string;
  module: string;
  why: string;
  optional?: boolean;
}

const VIRTIO_PCI: Omit<Requirement, 'why'> = { option: 'CONFIG_VIRTIO_PCI', module: 'virtio_pci' };

export function hasGuestDevices(opts: GuestDevicesOptions | undefined): boolean {
  return Boolean(opts && (opts.forwards?.length || opts.shares?.length || opts.disks?.length || opts.root || opts.pvpanic));
}

/**
 * Checks everything on the host first (ports free, images readable, the kernel able to drive
 * each device), so a bad flag fails in one line before QEMU starts; then starts virtiofsd.
 */
export async function prepareGuestDevices(kernel: KernelArtifacts, opts: GuestDevicesOptions, runDir: string, progress: ProgressReporter = silentProgress): Promise<PreparedGuestDevices> {
  const forwards = opts.forwards ?? [];
  const shares = opts.shares ?? [];
  const disks = opts.disks ?? [];
  if (opts.root && disks.length === 0) throw new KdiveError(`--root ${opts.root}: no disk to boot from; add --disk IMAGE`, 2);
  const qemuArgs: string[] = [];
  const init: string[] = [];
  const needs: Requirement[] = [];

  for (const f of forwards) await checkHostPortFree(f);
  if (forwards.length) {
    qemuArgs.push(...portForwardArgs(forwards));
    init.push(GUEST_NETWORK_SETUP);
    needs.push({ ...VIRTIO_PCI, why: '--forward' }, { option: 'CONFIG_VIRTIO_NET', module: 'virtio_net', why: '--forward' });
  }
  for (const [i, disk] of disks.entries()) {
    const info = await imageInfo(disk);
    qemuArgs.push('-drive', `file=${path.resolve(disk).replace(/,/g, ',,')},format=${info.format},if=none,id=kdive-disk${i}`, '-device', `virtio-blk-pci,drive=kdive-disk${i}`);
  }
  if (disks.length) needs.push({ ...VIRTIO_PCI, why: '--disk' }, { option: 'CONFIG_VIRTIO_BLK', module: 'virtio_blk', why: '--disk' });
  if (opts.root) needs.push({ option: 'CONFIG_EXT4_FS', module: 'ext4', why: '--root', optional: true });
  if (shares.length) {
    needs.push({ ...VIRTIO_PCI, why: '--share' }, { option: 'CONFIG_FUSE_FS', module: 'fuse', why: '--share' }, { option: 'CONFIG_VIRTIO_FS', module: 'virtiofs', why: '--share' });
    shares.forEach((s, i) => {
      qemuArgs.push('-chardev', `socket,id=kdive-fs${i},path=${path.join(runDir, `virtiofs${i}.sock`)}`, '-device', `vhost-user-fs-pci,chardev=kdive-fs${i},tag=kdive${i}`);
      init.push(`{ [ -d ${s.guest} ] || mkdir -p ${s.guest}; } && mount -t virtiofs kdive${i} ${s.guest} || echo "kdive: could not mount the shared folder at ${s.guest}"`);
    });
  }

  if (opts.pvpanic && (await hasOption(kernel, 'CONFIG_PVPANIC_PCI'))) {
    qemuArgs.push('-device', 'pvpanic-pci', '-action', 'panic=pause');
    needs.push({ option: 'CONFIG_PVPANIC', module: 'pvpanic', why: 'pvpanic' }, { option: 'CONFIG_PVPANIC_PCI', module: 'pvpanic_pci', why: 'pvpanic' });
  }

  const modules = await modulesFor(kernel, needs, progress);
  const daemons: RunningVirtiofsd[] = [];
  const stop = () => daemons.forEach((d) => d.stop());
  try {
    for (const [i, s] of shares.entries()) daemons.push(await startVirtiofsd(s, path.join(runDir, `virtiofs${i}.sock`)));
  } catch (err) {
    stop();
    throw err;
  }
  return { qemuArgs, sharedMemory: shares.length > 0, modules, extraInit: init.join('\n'), directories: shares.map((s) => s.guest), append: opts.root ? [`root=${opts.root}`] : [], stop };
}

async function hasOption(kernel: KernelArtifacts, option: string): Promise<boolean> {
  if (!kernel.config) return false;
  return (await KernelConfig.read(kernel.config)).tristate(option) !== undefined;
}

/** The .ko files behind the options a kernel has as modules; an option it lacks altogether is an error. */
async function modulesFor(kernel: KernelArtifacts, needs: Requirement[], progress: ProgressReporter): Promise<string[]> {
  if (needs.length === 0 || !kernel.config) return []; // no .config: trust that the kernel has them built in
  const config = await KernelConfig.read(kernel.config);
  const wanted: string[] = [];
  for (const need of needs) {
    const state = config.tristate(need.option);
    if (state === 'm' && !wanted.includes(need.module)) wanted.push(need.module);
    if (state === undefined && !need.optional) {
      throw new KdiveError(`${need.why}: kernel ${kernel.version} has no ${need.option} (not set in ${kernel.config}); use a kernel with it built in or as a module`, 2);
    }
  }
  if (wanted.length === 0) return [];
  const tree = await kernelModuleTree(kernel, progress);
  if (!tree) throw new KdiveError(`kernel ${kernel.version} has ${wanted.join(', ')} as modules, but kdive knows no module folder for ${kernel.spec}; build them in (=y)`, 2);
  return tree.loadOrder(wanted);
}
