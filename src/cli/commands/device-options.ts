import type { Command } from 'commander';
import type { GuestDevicesOptions } from '../../vm/guest-devices.js';
import { parsePortForward } from '../../vm/port-forward.js';
import { parseSharedFolder } from '../../vm/virtiofs-share.js';

export interface DeviceFlags {
  forward: string[];
  share: string[];
  disk: string[];
  root?: string;
}

/** --forward, --share, --disk, --root: the same flags on run, demo, boot and debug. */
export function addDeviceOptions(cmd: Command): Command {
  return cmd
    .option('--forward <host:guest>', 'forward TCP port 127.0.0.1:HOST on the host to GUEST in the guest (repeatable)', collect, [])
    .option('--share <dir[:guestdir]>', 'share a host folder into the guest over virtiofs (default mount /mnt/NAME; repeatable)', collect, [])
    .option('--disk <image>', 'attach a disk image (qcow2 or raw) as /dev/vda, /dev/vdb... (repeatable)', collect, [])
    .option('--root <device>', 'boot from this device (root=, e.g. /dev/vda): /init mounts it and switches to it');
}

/** The flags as device options; a malformed one fails here, before anything is booted. */
export function devicesFromFlags(flags: Partial<DeviceFlags>): GuestDevicesOptions {
  return {
    forwards: (flags.forward ?? []).map(parsePortForward),
    shares: (flags.share ?? []).map(parseSharedFolder),
    disks: flags.disk ?? [],
    root: flags.root,
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
