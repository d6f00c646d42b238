/**
 * Makes the RSP seeds: one real conversation with QEMU's gdbstub (the system's qemu-system-x86_64,
 * 7.2 on Debian 12), no kernel (the CPU sits at the reset vector), both directions saved as sent:
 *   rsp-qemu-requests.bin  what a client sent (acks included)
 *   rsp-qemu-replies.bin   what QEMU answered (acks, packets, the stop replies)
 * Run once by hand: `node --import tsx test/fuzz/seeds/capture-rsp-conversation.ts`.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePacket } from '../../../src/target/gdb-remote/packet-codec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const port = 20000 + Math.floor(Math.random() * 20000);
const qemu = spawn('qemu-system-x86_64', ['-S', '-gdb', `tcp:127.0.0.1:${port}`, '-display', 'none', '-M', 'pc', '-m', '64', '-nodefaults', '-no-user-config'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1000));
const sock = net.connect(port, '127.0.0.1');
await new Promise((r) => sock.once('connect', r));
const sent: Buffer[] = [];
const got: Buffer[] = [];
let pending = '';
let wake: (() => void) | undefined;
sock.on('data', (d: Buffer) => {
  got.push(d);
  pending += d.toString('latin1');
  wake?.();
});
const send = (b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  sent.push(buf);
  sock.write(buf);
};
/** Sends a request and waits for the complete reply packet, then acks it. */
async function request(payload: string): Promise<string> {
  pending = '';
  send(encodePacket(payload));
  for (;;) {
    const m = /\$([^#]*)#[0-9a-f]{2}/.exec(pending);
    if (m) {
      send('+');
      return m[1]!;
    }
    await new Promise<void>((r) => (wake = r));
  }
}
const requests = [
  'qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;xmlRegisters=i386',
  'vMustReplyEmpty', 'Hg0', 'qXfer:features:read:target.xml:0,7fd', 'qXfer:features:read:i386-64bit.xml:0,200',
  'qXfer:features:read:i386-64bit.xml:200,7fd', 'qXfer:features:read:i386-64bit.xml:9fd,7fd', '?', 'qfThreadInfo', 'qsThreadInfo',
  'qAttached', 'qC', 'qThreadExtraInfo,p1.1', 'g', 'p10', 'mfff0,40', 'mffffffff81000000,10', 'Z0,fff0,1', 'z0,fff0,1',
  'Z1,fff5,1', 'z1,fff5,1', 'Z2,1000,8', 'z2,1000,8', 'vCont?', 'qOffsets', 'qSymbol::', 'qTStatus', 'M2000,4:deadbeef', 'm2000,4',
  'X2004,0:', 'qRcmd,696e666f207265676973746572730a', 'vCont;s:p1.1',
];
for (const r of requests) await request(r);
// Run, then interrupt: the T02 stop reply of a ^C.
pending = '';
send(encodePacket('vCont;c:p1.-1'));
await new Promise((r) => setTimeout(r, 300));
send(Buffer.from([0x03]));
await new Promise((r) => setTimeout(r, 500));
send('+');
await request('D;1').catch(() => '');
sock.destroy();
qemu.kill();
writeFileSync(path.join(here, 'rsp-qemu-requests.bin'), Buffer.concat(sent));
writeFileSync(path.join(here, 'rsp-qemu-replies.bin'), Buffer.concat(got));
console.log(`requests ${Buffer.concat(sent).length} bytes, replies ${Buffer.concat(got).length} bytes`);
