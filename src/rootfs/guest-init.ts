/** The line /init prints with the guest command's exit status, for the host to read off the console. */
export const GUEST_EXIT_MARKER = 'KDIVE-GUEST-EXIT:';

/** The guest command's exit status from console text, if /init got that far. */
export function parseGuestExit(consoleText: string): number | undefined {
  const m = new RegExp(`${GUEST_EXIT_MARKER} (\\d+)`).exec(consoleText);
  return m ? Number(m[1]) : undefined;
}

/** /init: mount the pseudo file systems, run the command, report its status, power off. */
export function guestInitScript(guestCommand: string, extraInit = ''): string {
  return `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
${extraInit}
cd /root
sh -c ${shellQuote(guestCommand)}
status=$?
echo "${GUEST_EXIT_MARKER} $status"
sync
poweroff -f
`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
