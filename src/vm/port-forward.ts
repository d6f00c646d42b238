import net from 'node:net';
import { KdiveError } from '../errors.js';

/** A TCP port on the host's 127.0.0.1 forwarded to a port of the guest (QEMU user networking). */
export interface PortForward {
  hostPort: number;
  guestPort: number;
}

/** `HOST:GUEST`, as the user writes it with --forward (8080:80). */
export function parsePortForward(spec: string): PortForward {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(spec.trim());
  const hostPort = Number(m?.[1]);
  const guestPort = Number(m?.[2]);
  if (!m || !validPort(hostPort) || !validPort(guestPort)) {
    throw new KdiveError(`--forward ${spec}: expected HOSTPORT:GUESTPORT, two ports from 1 to 65535 (8080:80); the host side listens on 127.0.0.1`, 2);
  }
  return { hostPort, guestPort };
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** Fails in one line when 127.0.0.1:PORT cannot be listened on, before QEMU is started. */
export async function checkHostPortFree(forward: PortForward): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EACCES' ? 'needs root (a port below 1024)' : `cannot be listened on (${err.message})`;
      reject(new KdiveError(`--forward ${forward.hostPort}:${forward.guestPort}: 127.0.0.1:${forward.hostPort} ${why} on the host`, 2));
    });
    server.listen(forward.hostPort, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** QEMU's user-mode network with each forward bound to loopback, on a virtio-net card. */
export function portForwardArgs(forwards: readonly PortForward[]): string[] {
  const rules = forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
  return ['-netdev', `user,id=kdive-net${rules}`, '-device', 'virtio-net-pci,netdev=kdive-net'];
}

/** The guest side: QEMU's user network answers at 10.0.2.2 and gives the guest 10.0.2.15. */
export const GUEST_NETWORK_SETUP = `ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 || echo "kdive: no eth0 in the guest: the port forward will not reach it"`;
