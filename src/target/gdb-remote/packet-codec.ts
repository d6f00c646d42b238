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
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
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
 * decoder resynchronises on the next `$`.
 */
export class PacketDecoder {
  private frame: number[] | undefined;
  private stray: number[] = [];
  private checksumDigits: number[] | undefined;
  private notification = false;

  constructor(private readonly maxPacket = 1 << 20) {}

  *feed(chunk: Buffer): Generator<DecodedEvent> {
    for (const b of chunk) yield* this.byte(b);
    // Report stray bytes per chunk so garbage is never silently held back.
    if (this.stray.length) {
      yield { type: 'stray', bytes: Buffer.from(this.stray) };
      this.stray = [];
    }
  }

  private *byte(b: number): Generator<DecodedEvent> {
    if (this.checksumDigits) {
      this.checksumDigits.push(b);
      if (this.checksumDigits.length < 2) return;
      const digits = String.fromCharCode(...this.checksumDigits);
      const raw = Buffer.from(this.frame!);
      const notification = this.notification;
      this.frame = undefined;
      this.checksumDigits = undefined;
      const got = /^[0-9a-fA-F]{2}$/.test(digits) ? parseInt(digits, 16) : -1;
      const expected = checksum(raw);
      if (got !== expected) {
        yield { type: 'bad-checksum', expected, got, raw };
        return;
      }
      yield { type: 'packet', payload: unescapePayload(raw), notification };
      return;
    }
    if (this.frame) {
      if (b === HASH) {
        this.checksumDigits = [];
      } else if (b === DOLLAR) {
        // A new frame start inside a frame: the old one was cut short; resync on this one.
        yield { type: 'stray', bytes: Buffer.from([this.notification ? PERCENT : DOLLAR, ...this.frame]) };
        this.frame = [];
        this.notification = false;
      } else if (this.frame.length >= this.maxPacket) {
        yield { type: 'oversize', length: this.frame.length };
        this.frame = undefined;
      } else {
        this.frame.push(b);
      }
      return;
    }
    const isStray = !(b === DOLLAR || b === PERCENT || b === 0x2b || b === 0x2d || b === 0x03);
    if (!isStray && this.stray.length) {
      // Report garbage in stream order, before the event that ends it.
      yield { type: 'stray', bytes: Buffer.from(this.stray) };
      this.stray = [];
    }
    if (b === DOLLAR || b === PERCENT) {
      this.frame = [];
      this.notification = b === PERCENT;
    } else if (b === 0x2b) {
      yield { type: 'ack' };
    } else if (b === 0x2d) {
      yield { type: 'nak' };
    } else if (b === 0x03) {
      yield { type: 'interrupt' };
    } else {
      this.stray.push(b);
    }
  }
}

export function encodeHex(data: Buffer): string {
  return data.toString('hex');
}

/** Strict hex decoding: an odd length or a non-hex digit is an error, not a silent truncation. */
export function decodeHex(text: string): Buffer {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`not a hex string: '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`);
  }
  return Buffer.from(text, 'hex');
}
