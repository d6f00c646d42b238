import type { RegisterDescription } from '../target.js';
import { fixedLayout } from './target-description.js';

/**
 * What differs between debug stubs, said once as data (PROTOCOLS.md §1, §2, §4):
 * - QEMU 7.2: target.xml over qXfer; PacketSize=0x1000; `m` up to 2048 bytes (keep replies
 *   within PacketSize: 0x7f0); no no-ack mode, but it never waits for our `+` either, and a `+`
 *   arriving while the VM runs interrupts it, so we send none; `?` removes all breakpoints (send it once);
 *   vCont; 0x03 interrupts; qRcmd goes to HMP.
 * - Linux kgdb: no qSupported, no target.xml (156-byte x86-64 layout built in); 1 KiB buffer,
 *   so `m` of at most 511 bytes (256 is safe); no vCont; 0x03 is ignored (break in with
 *   SysRq-g); qsThreadInfo ends with an empty reply; `W03` on power-off is a normal exit.
 * - generic gdbserver-class stubs and VMware: gdb's legacy amd64 layout (536 bytes).
 */
export interface StubProfile {
  name: 'qemu' | 'kgdb' | 'generic';
  /** The stub's threads are the CPUs, numbered from 1 (QEMU's vCPUs); otherwise they are tasks (kgdb). */
  threadsAreCpus?: boolean;
  /** The stub passes `monitor` (qRcmd) to QEMU's HMP, where `info kvm` tells TCG from KVM. */
  qemuMonitor?: boolean;
  /** The largest packet the stub takes (QEMU: PacketSize from qSupported; kgdb: BUFMAX-1). */
  packetSize: number;
  /** Bytes per `m` request. */
  maxMemoryRead: number;
  /**
   * `m` requests kept in flight at once (1: no pipelining; kgdb's single 1 KiB buffer cannot queue).
   * QEMU 7.2 over loopback: 8 MB/s with 1, 21 with 8, 30 with 16, less again with 32 (measured).
   */
  memoryReadWindow: number;
  /** Bytes per `M` request (its hex doubles the size). */
  maxMemoryWrite: number;
  usesTargetXml: boolean;
  builtinLayout?: RegisterDescription[];
  vCont: boolean;
  /** Whether a raw 0x03 stops a running target. */
  interruptByte: boolean;
  /** Whether to ack the stub's packets with `+` (see RspConnection.sendAcks). */
  sendAcks: boolean;
  /**
   * How far past a software breakpoint the stub reports pc (gdb's decr_pc_after_break): kgdb
   * reports the address after the int3 and leaves the rewind to the debugger; QEMU reports the
   * breakpoint's own address.
   */
  breakpointPcOffset?: number;
  /** Registers a `P`/`G` is acknowledged for but does not change (kgdb keeps sp: its pt_regs frame is on that stack). */
  readOnlyRegisters?: readonly string[];
}

const X86_64_GPRS: [string, number][] = [
  ['rax', 8], ['rbx', 8], ['rcx', 8], ['rdx', 8], ['rsi', 8], ['rdi', 8], ['rbp', 8], ['rsp', 8],
  ['r8', 8], ['r9', 8], ['r10', 8], ['r11', 8], ['r12', 8], ['r13', 8], ['r14', 8], ['r15', 8],
  ['rip', 8],
];

export const KGDB_X86_64_LAYOUT = fixedLayout([
  ...X86_64_GPRS,
  ['eflags', 4], ['cs', 4], ['ss', 4], ['ds', 4], ['es', 4],
]);

export const GDB_AMD64_LAYOUT = fixedLayout([
  ...X86_64_GPRS,
  ['eflags', 4], ['cs', 4], ['ss', 4], ['ds', 4], ['es', 4], ['fs', 4], ['gs', 4],
  ...Array.from({ length: 8 }, (_, i): [string, number] => [`st${i}`, 10]),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n): [string, number] => [n, 4]),
  ...Array.from({ length: 16 }, (_, i): [string, number] => [`xmm${i}`, 16]),
  ['mxcsr', 4],
]);

export const QEMU_PROFILE: StubProfile = {
  name: 'qemu', threadsAreCpus: true, qemuMonitor: true, packetSize: 0x1000, maxMemoryRead: 0x7f0, memoryReadWindow: 16, maxMemoryWrite: 0x7f0, usesTargetXml: true, vCont: true, interruptByte: true, sendAcks: false,
};

export const KGDB_PROFILE: StubProfile = {
  name: 'kgdb', breakpointPcOffset: 1, readOnlyRegisters: ['rsp'], packetSize: 1023, maxMemoryRead: 256, memoryReadWindow: 1, maxMemoryWrite: 256, usesTargetXml: false, builtinLayout: KGDB_X86_64_LAYOUT, vCont: false, interruptByte: false, sendAcks: true,
};

export const GENERIC_PROFILE: StubProfile = {
  name: 'generic', packetSize: 0x800, maxMemoryRead: 0x400, memoryReadWindow: 1, maxMemoryWrite: 0x200, usesTargetXml: false, builtinLayout: GDB_AMD64_LAYOUT, vCont: false, interruptByte: true, sendAcks: true,
};

export const STUB_PROFILES = { qemu: QEMU_PROFILE, kgdb: KGDB_PROFILE, generic: GENERIC_PROFILE } as const;

/** Picks a profile from the qSupported reply: QEMU offers target.xml, kgdb answers nothing. */
export function detectProfile(qSupportedReply: string): StubProfile {
  if (qSupportedReply === '') return KGDB_PROFILE;
  if (/qXfer:features:read\+/.test(qSupportedReply)) return profileFor('qemu', qSupportedReply);
  return profileFor('generic', qSupportedReply);
}

/**
 * A named profile with the limits the stub announced applied: a `PacketSize=` in its qSupported
 * reply bounds memory packets (each byte is two hex digits, plus room for the framing).
 */
export function profileFor(name: StubProfile['name'], qSupportedReply: string): StubProfile {
  const base = STUB_PROFILES[name];
  const size = /(?:^|;)PacketSize=([0-9a-fA-F]+)/.exec(qSupportedReply);
  if (!size) return base;
  const packetSize = parseInt(size[1]!, 16);
  // A read's reply is all hex; a write also carries `M<addr>,<len>:` (up to 24 characters).
  const readFits = Math.max(64, Math.floor((packetSize - 16) / 2));
  const writeFits = Math.max(64, Math.floor((packetSize - 64) / 2));
  return {
    ...base,
    packetSize,
    maxMemoryRead: Math.min(base.maxMemoryRead, readFits),
    maxMemoryWrite: Math.min(base.maxMemoryWrite, writeFits),
  };
}
