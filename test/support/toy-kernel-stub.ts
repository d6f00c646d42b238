/**
 * The toy kernel running on the FAKE stub (test/support/fake-rsp-stub.ts), served on a loopback
 * port: what a fast test attaches a session, the REPL or the DAP adapter to. CPU 0 sits before
 * `add` on nops, with a return address into entry_asm on its stack; memory holds the toy kernel's
 * code and data as toyKernelMemory() describes them.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { FakeRspStub } from './fake-rsp-stub.js';
import { scratchDir } from './own-resources.js';
import { ENTRY_ASM, TEXT, buildToyKernel, toyKernelMemory } from './toy-kernel.js';

export interface ToyKernelStub {
  vmlinux: string;
  port: number;
  stub: FakeRspStub;
  close(): Promise<void>;
}

export const TOY_STACK = 0xffffc90000008000n;

export async function serveToyKernelStub(): Promise<ToyKernelStub> {
  const dir = scratchDir('kdive-toy-stub-');
  const vmlinux = path.join(dir, 'vmlinux');
  writeFileSync(vmlinux, buildToyKernel().bytes);
  const code = Buffer.alloc(0x40, 0x90);
  const frameBytes = Buffer.alloc(0x100);
  frameBytes.writeBigUInt64LE(ENTRY_ASM + 5n, 0x80);
  // The toy kernel's own code, as the stub's memory: kdive reads the same bytes from the target and the file.
  const elf = await ElfFile.open(vmlinux);
  const textSection = elf.section('.text')!;
  const textBytes = await elf.readSection(textSection);
  await elf.close();
  const stub = new FakeRspStub({
    flavor: 'qemu-tcg',
    memory: [
      { address: TEXT - 0x40n, bytes: code },
      { address: textSection.addr, bytes: textBytes },
      { address: TOY_STACK - 0x80n, bytes: frameBytes },
      ...toyKernelMemory().regions(),
    ],
    registers: { rip: TEXT - 0x40n, rsp: TOY_STACK, rbp: 0n, rdi: 2n, rsi: 3n },
  });
  const server = net.createServer((socket) => {
    socket.pipe(stub.client);
    stub.client.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    vmlinux,
    port,
    stub,
    close: () => {
      stub.client.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
