/**
 * Apple KDP packets (PROTOCOLS.md §3, xnu's kdp_protocol.h): an 8-byte header, then a body whose
 * fields are in the target's byte order (little-endian on x86-64), except the UDP ports in
 * CONNECT and REATTACH, which are big-endian because the kernel copies them into a UDP header.
 */

/** UDP port the target listens on and sends from (KDP_REMOTE_PORT). */
export const KDP_REMOTE_PORT = 41139;
/** Largest read or write the target accepts (MAX_KDP_DATA_SIZE). */
export const KDP_MAX_DATA = 1024;
export const KDP_HEADER_SIZE = 8;

export const KdpRequest = {
  CONNECT: 0x00,
  DISCONNECT: 0x01,
  HOSTINFO: 0x02,
  VERSION: 0x03,
  MAXBYTES: 0x04,
  READMEM: 0x05,
  WRITEMEM: 0x06,
  READREGS: 0x07,
  WRITEREGS: 0x08,
  SUSPEND: 0x0b,
  RESUMECPUS: 0x0c,
  EXCEPTION: 0x0d,
  TERMINATION: 0x0e,
  BREAKPOINT_SET: 0x0f,
  BREAKPOINT_REMOVE: 0x10,
  REGIONS: 0x11,
  REATTACH: 0x12,
  HOSTREBOOT: 0x13,
  READMEM64: 0x14,
  WRITEMEM64: 0x15,
  BREAKPOINT64_SET: 0x16,
  BREAKPOINT64_REMOVE: 0x17,
  KERNELVERSION: 0x18,
  READPHYSMEM64: 0x19,
  WRITEPHYSMEM64: 0x1a,
  READMSR64: 0x1d,
  WRITEMSR64: 0x1e,
} as const;

const REQUEST_NAMES = new Map<number, string>(Object.entries(KdpRequest).map(([k, v]) => [v, k]));

export function kdpRequestName(request: number): string {
  return REQUEST_NAMES.get(request) ?? `request 0x${request.toString(16)}`;
}

/** kdp_error_t. */
export const KdpErrorCode = {
  NO_ERROR: 0,
  ALREADY_CONNECTED: 1,
  BAD_NBYTES: 2,
  BADFLAVOR: 3,
  BAD_ACCESS: 4,
  MAX_BREAKPOINTS: 100,
  BREAKPOINT_NOT_FOUND: 101,
  BREAKPOINT_ALREADY_SET: 102,
} as const;

const ERROR_TEXT = new Map<number, string>([
  [1, 'another debugger is already connected (KDP ALREADY_CONNECTED)'],
  [2, 'the target refused the byte count (KDP BAD_NBYTES)'],
  [3, 'the target does not know that register flavor (KDP BADFLAVOR)'],
  [4, 'memory not accessible (KDP BAD_ACCESS)'],
  [100, 'the target holds no more breakpoints (KDP MAX_BREAKPOINTS, 100 on x86)'],
  [101, 'no breakpoint there (KDP BREAKPOINT_NOT_FOUND)'],
  [102, 'a breakpoint is already there (KDP BREAKPOINT_ALREADY_SET)'],
]);

export function kdpErrorText(code: number): string {
  return ERROR_TEXT.get(code) ?? `KDP error ${code}`;
}

/** The x86 thread-state flavor for READREGS/WRITEREGS (5, the float state, always reads as zeros). */
export const X86_THREAD_STATE64 = 4;

/** EXCEPTION's `exception` field (mach exception types); a breakpoint or a step comes with code 3. */
export const EXC_BAD_ACCESS = 1;
export const EXC_BAD_INSTRUCTION = 2;
export const EXC_ARITHMETIC = 3;
export const EXC_BREAKPOINT = 6;

export interface KdpHeader {
  request: number;
  isReply: boolean;
  seq: number;
  /** The whole packet's length, header included. */
  length: number;
  key: number;
}

/** A packet's header followed by `body`, with `len` filled in. */
export function encodeKdpPacket(h: Omit<KdpHeader, 'length'>, body: Buffer = Buffer.alloc(0)): Buffer {
  const packet = Buffer.alloc(KDP_HEADER_SIZE + body.length);
  packet[0] = (h.request & 0x7f) | (h.isReply ? 0x80 : 0);
  packet[1] = h.seq & 0xff;
  packet.writeUInt16LE(packet.length, 2);
  packet.writeUInt32LE(h.key >>> 0, 4);
  body.copy(packet, KDP_HEADER_SIZE);
  return packet;
}

/** The header of a datagram, or a reason it is not a KDP packet. */
export function decodeKdpHeader(datagram: Buffer): KdpHeader | string {
  if (datagram.length < KDP_HEADER_SIZE) return `${datagram.length}-byte datagram is shorter than a KDP header`;
  return {
    request: datagram[0]! & 0x7f,
    isReply: (datagram[0]! & 0x80) !== 0,
    seq: datagram[1]!,
    length: datagram.readUInt16LE(2),
    key: datagram.readUInt32LE(4),
  };
}

// Request bodies, one builder per request that has one.

export function connectBody(replyPort: number, exceptionPort: number, greeting: string): Buffer {
  const body = Buffer.alloc(4 + Buffer.byteLength(greeting) + 1);
  body.writeUInt16BE(replyPort, 0);
  body.writeUInt16BE(exceptionPort, 2);
  body.write(greeting, 4, 'latin1');
  return body;
}

export function reattachBody(replyPort: number): Buffer {
  const body = Buffer.alloc(2);
  body.writeUInt16BE(replyPort, 0);
  return body;
}

export function readMem64Body(address: bigint, length: number): Buffer {
  const body = Buffer.alloc(12);
  body.writeBigUInt64LE(BigInt.asUintN(64, address), 0);
  body.writeUInt32LE(length, 8);
  return body;
}

export function writeMem64Body(address: bigint, data: Buffer): Buffer {
  return Buffer.concat([readMem64Body(address, data.length), data]);
}

export function readRegsBody(cpu: number, flavor: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32LE(cpu, 0);
  body.writeUInt32LE(flavor, 4);
  return body;
}

export function writeRegsBody(cpu: number, flavor: number, state: Buffer): Buffer {
  return Buffer.concat([readRegsBody(cpu, flavor), state]);
}

export function breakpoint64Body(address: bigint): Buffer {
  const body = Buffer.alloc(8);
  body.writeBigUInt64LE(BigInt.asUintN(64, address), 0);
  return body;
}

export function u32Body(value: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32LE(value >>> 0, 0);
  return body;
}

/** One entry of an EXCEPTION notification. */
export interface KdpExceptionInfo {
  cpu: number;
  exception: number;
  code: number;
  subcode: number;
}

export function encodeExceptionBody(infos: readonly KdpExceptionInfo[]): Buffer {
  const body = Buffer.alloc(4 + 16 * infos.length);
  body.writeUInt32LE(infos.length, 0);
  infos.forEach((e, i) => {
    const at = 4 + 16 * i;
    body.writeUInt32LE(e.cpu, at);
    body.writeUInt32LE(e.exception, at + 4);
    body.writeUInt32LE(e.code, at + 8);
    body.writeUInt32LE(e.subcode, at + 12);
  });
  return body;
}

/** EXCEPTION's entries, or a reason the body is malformed. */
export function decodeExceptionBody(body: Buffer): KdpExceptionInfo[] | string {
  if (body.length < 4) return 'EXCEPTION without its count';
  const n = body.readUInt32LE(0);
  if (n === 0 || body.length < 4 + 16 * n) return `EXCEPTION announces ${n} entries in ${body.length} bytes`;
  return Array.from({ length: n }, (_, i) => ({
    cpu: body.readUInt32LE(4 + 16 * i),
    exception: body.readUInt32LE(8 + 16 * i),
    code: body.readUInt32LE(12 + 16 * i),
    subcode: body.readUInt32LE(16 + 16 * i),
  }));
}

/** The acknowledgement of an EXCEPTION: its header with the reply bit set, bytes 1-7 echoed as LLDB does. */
export function exceptionAck(notification: Buffer): Buffer {
  const ack = Buffer.from(notification.subarray(0, KDP_HEADER_SIZE));
  ack[0] = KdpRequest.EXCEPTION | 0x80;
  return ack;
}
