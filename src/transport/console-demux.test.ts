import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleDemux } from './console-demux.js';

test('demux: telnet negotiation stripped, packets and owed acks to RSP, the rest is console, split at any byte', () => {
  const written: Buffer[] = [];
  const d = new ConsoleDemux((b) => written.push(b));
  const rsp: Buffer[] = [];
  d.rsp.on('data', (b: Buffer) => rsp.push(b));
  d.rsp.write(Buffer.from('$g#67'));
  const line = Buffer.concat([
    Buffer.from([0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00]), // QEMU's greeting
    Buffer.from('[    1.0] KGDB: Waiting for connection from remote gdb...\r\nprice: $5 + tax\r\n+$S05#b8'),
  ]);
  // Byte by byte: a packet or an IAC sequence split across reads must survive.
  for (const b of line) d.push(Buffer.from([b]));
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.equal(d.text(), '[    1.0] KGDB: Waiting for connection from remote gdb...\r\nprice: $5 + tax\r\n');
    assert.equal(Buffer.concat(rsp).toString('latin1'), '+$S05#b8');
    // A literal 0xff we send is doubled for telnet; the break is IAC BREAK.
    d.rsp.write(Buffer.from([0x24, 0xff, 0x23]));
    assert.deepEqual([...written[written.length - 1]!], [0x24, 0xff, 0xff, 0x23]);
    resolve();
  }));
});
