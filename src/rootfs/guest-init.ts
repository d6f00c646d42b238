/** The line /init prints with the guest command's exit status, for the host to read off the console. */
export const GUEST_EXIT_MARKER = 'KDIVE-GUEST-EXIT:';

/** Where /init finds the modules kdive put in the initramfs. */
export const GUEST_MODULE_DIR = 'lib/modules/kdive';

/** The guest command's exit status from console text, if /init got that far. */
export function parseGuestExit(consoleText: string): number | undefined {
  const m = new RegExp(`${GUEST_EXIT_MARKER} (\\d+)`).exec(consoleText);
  return m ? Number(m[1]) : undefined;
}

export interface GuestInitOptions {
  /** Shell lines run before the guest command, after the pseudo file systems are mounted. */
  extraInit?: string;
  /** Module files (paths in the initramfs), insmod-ed in this order before anything else. */
  modules?: readonly string[];
}

/**
 * /init: load the modules kdive packed, and when the kernel command line has `root=` mount that
 * device and switch_root to it, as a distro's initramfs does; then (on whichever root) mount the
 * pseudo file systems, run the extra lines and the command, report its status, power off.
 */
export function guestInitScript(guestCommand: string, opts: GuestInitOptions | string = {}): string {
  const { extraInit = '', modules = [] } = typeof opts === 'string' ? { extraInit: opts } : opts;
  const stage2 = guestCommandScript(guestCommand, extraInit);
  return `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
${modules.map((m) => `insmod /${m.replace(/^\/+/, '')} || echo "kdive: could not load ${m}"`).join('\n')}
root=
for word in $(cat /proc/cmdline); do
  case "$word" in root=*) root="\${word#root=}" ;; esac
done
if [ -n "$root" ]; then
  tries=0
  while [ ! -b "$root" ] && [ $tries -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
  mkdir -p /newroot
  if mount -o rw "$root" /newroot; then
    umount /sys /proc
    umount -l /dev
    exec switch_root /newroot /bin/sh -c ${shellQuote(stage2)}
  fi
  echo "kdive: cannot mount the root device $root; staying in the initramfs"
fi
exec /bin/sh -c ${shellQuote(stage2)}
`;
}

/**
 * The part that runs on the final root: it must work with a disk's own /bin/sh as well as busybox.
 * It makes no folder that exists already: every mkdir before the guest command would stop at a
 * user's `break do_mkdirat` before the command's own.
 */
function guestCommandScript(guestCommand: string, extraInit: string): string {
  return `export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -d /tmp ] || mkdir /tmp
mount -t tmpfs tmpfs /tmp
${extraInit}
cd /root 2>/dev/null || cd /
sh -c ${shellQuote(guestCommand)}
status=$?
echo "${GUEST_EXIT_MARKER} $status"
sync
poweroff -f 2>/dev/null
echo o > /proc/sysrq-trigger
`;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
