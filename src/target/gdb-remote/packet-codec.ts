import { clipped } from '../../errors.js';
import { TargetError } from '../target-error.js';

/**
 * GDB Remote Serial Protocol framing, pure: `$payload#cc`, acks, `}` escapes, RLE.
 * No I/O here, so every rule can be tested byte for byte and fuzzed.
 */

export type DecodedEvent =
  | { type: 'packet'; payload: Buffer; notification: boolean }
  | { type: 'ack' }
  | { type: 'nak' }
  | { type: 'interrupt' }
  | { type: 'bad-checksum'; expected: number; got: number; raw: Buffer }
  | { type: 'oversize'; length: number }
  | { type: 'stray'; bytes: Buffer };

const DOLLAR = 0x24;
const PERCENT = 0x25;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;

export function checksum(bytes: Buffer): number {
  // An indexed loop: a memory read's reply is 4 KiB and there are thousands of them.
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i]!;
  return sum & 0xff;
}

/** Escapes `$ # } *` (and nothing else), as binary payloads (X, qXfer) need. */
export function escapeBinary(data: Buffer): Buffer {
  const out: number[] = [];
  for (const b of data) {
    if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) out.push(ESCAPE, b ^ 0x20);
    else out.push(b);
  }
  return Buffer.from(out);
}

/** Frames a payload; the payload is escaped so it can hold any byte. */
export function encodePacket(payload: Buffer | string): Buffer {
  if (typeof payload === 'string' && /^[^$#}*\u0100-\uffff]*$/.test(payload)) {
    // Nothing to escape (`m`, `Z`, `vCont` requests): one buffer, no per-byte copy.
    const frame = Buffer.allocUnsafe(payload.length + 4);
    frame[0] = DOLLAR;
    const n = frame.write(payload, 1, 'latin1');
    frame[n + 1] = HASH;
    frame.write(checksum(frame.subarray(1, n + 1)).toString(16).padStart(2, '0'), n + 2, 'latin1');
    return frame;
  }
  const body = escapeBinary(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  const sum = checksum(body).toString(16).padStart(2, '0');
  return Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${sum}`)]);
}

/** Undoes `}` escapes and run-length encoding (`X*n` repeats X n-29 more times). */
export function unescapePayload(body: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === ESCAPE && i + 1 < body.length) {
      out.push(body[++i]! ^ 0x20);
    } else if (b === STAR && out.length > 0 && i + 1 < body.length) {
      const count = body[++i]! - 29;
      const last = out[out.length - 1]!;
      for (let k = 0; k < count; k++) out.push(last);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/**
 * Incremental decoder: feed it whatever the socket delivers (split or merged packets,
 * garbage) and it yields events. A frame longer than `maxPacket` is dropped and the
 * decoder resynchronises on the next `$`. Frames are found with indexOf over the chunk,
 * not byte by byte: replies to memory reads are 4 KiB each.
 */
export class PacketDecoder {
  /** Bytes of an unfinished frame (from its `$` or `%`), carried over to the next chunk. */
  private pending: Buffer | undefined;

  constructor(private readonly maxPacket = 1 << 20) {}

  *feed(chunk: Buffer): Generator<DecodedEvent> {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    let strayStart = -1;
    const flushStray = function* (end: number): Generator<DecodedEvent> {
      if (strayStart >= 0 && end > strayStart) yield { type: 'stray', bytes: Buffer.from(buf.subarray(strayStart, end)) };
      strayStart = -1;
    };
    while (i < buf.length) {
      const b = buf[i]!;
      if (b === DOLLAR || b === PERCENT) {
        yield* flushStray(i);
        const hash = buf.indexOf(HASH, i + 1);
        // Only `$` restarts a frame: `%` may be data inside one.
        const dollar = buf.indexOf(DOLLAR, i + 1);
        const nextStart = dollar >= 0 && (hash < 0 || dollar < hash) ? dollar : -1;
        if (nextStart >= 0) {
          // A new frame start inside a frame: the old one was cut short; resync on the new one.
          yield { type: 'stray', bytes: Buffer.from(buf.subarray(i, nextStart)) };
          i = nextStart;
          continue;
        }
        if (hash < 0 || hash + 2 >= buf.length) {
          const have = buf.length - i;
          if (have > this.maxPacket + 3) {
            yield { type: 'oversize', length: have };
            buf = Buffer.alloc(0);
            break;
          }
          this.pending = Buffer.from(buf.subarray(i));
          buf = Buffer.alloc(0);
          break;
        }
        if (buf[hash + 1] === DOLLAR || buf[hash + 2] === DOLLAR) {
          // A frame cut short right at its checksum: the `$` starts the next frame, not a digit.
          const restart = buf[hash + 1] === DOLLAR ? hash + 1 : hash + 2;
          yield { type: 'stray', bytes: Buffer.from(buf.subarray(i, restart)) };
          i = restart;
          continue;
        }
        const raw = buf.subarray(i + 1, hash);
        const notification = b === PERCENT;
        i = hash + 3;
        if (raw.length > this.maxPacket) {
          yield { type: 'oversize', length: raw.length };
          continue;
        }
        const digits = buf.toString('latin1', hash + 1, hash + 3);
        const got = /^[0-9a-fA-F]{2}$/.test(digits) ? parseInt(digits, 16) : -1;
        const expected = checksum(raw);
        if (got !== expected) {
          yield { type: 'bad-checksum', expected, got, raw: Buffer.from(raw) };
          continue;
        }
        const needsUnescape = raw.includes(ESCAPE) || raw.includes(STAR);
        yield { type: 'packet', payload: needsUnescape ? unescapePayload(raw) : Buffer.from(raw), notification };
        continue;
      }
      if (b === 0x2b || b === 0x2d || b === 0x03) {
        yield* flushStray(i);
        yield b === 0x2b ? { type: 'ack' } : b === 0x2d ? { type: 'nak' } : { type: 'interrupt' };
      } else if (strayStart < 0) {
        strayStart = i;
      }
      i++;
    }
    yield* flushStray(buf.length);
  }
}

export function encodeHex(data: Buffer): string {
  return data.toString('hex');
}

/** Strict hex decoding: an odd length or a non-hex digit is an error, not a silent truncation. */
export function decodeHex(text: string): Buffer {
  // Buffer.from stops at the first non-hex pair; a short result is how a bad digit shows.
  const out = text.length % 2 === 0 ? Buffer.from(text, 'hex') : undefined;
  if (!out || out.length * 2 !== text.length) {
    throw new TargetError(`not a hex string in the stub's reply: '${clipped(text)}'`);
  }
  return out;
}
