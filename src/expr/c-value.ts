import { KdiveError } from '../errors.js';
import { isSigned, sizeOf, strip, type CType } from './c-types.js';

/** A typed value: in guest memory (an lvalue), or bytes we already hold (registers, results). */
export interface CValue {
  type: CType;
  address?: bigint;
  bytes?: Buffer;
  bitSize?: number;
  bitOffset?: number;
  /** Why there is no value (`<optimized out>`, `<unavailable>`), as gdb prints it. */
  missing?: string;
}

/** What reading values needs: guest memory, and a name for an address when one fits (`<init_task>`). */
export interface ValueSource {
  readMemory(address: bigint, length: number): Promise<Buffer>;
  symbolAt(address: bigint): string | undefined;
}

export function cannotAccess(address: bigint): KdiveError {
  return new KdiveError(`Cannot access memory at address 0x${address.toString(16)}`);
}

/** The value's bytes (its whole storage unit for a bit-field). */
export async function bytesOf(v: CValue, src: ValueSource): Promise<Buffer> {
  if (v.missing) throw new KdiveError(`value is ${v.missing.replace(/[<>]/g, '')}`);
  if (v.bytes) return v.bytes;
  if (v.address === undefined) throw new KdiveError('the value has no location');
  const size = v.bitSize !== undefined ? Math.ceil(((v.bitOffset ?? 0) + v.bitSize) / 8) : sizeOf(v.type);
  try {
    v.bytes = await src.readMemory(v.address, size);
  } catch {
    throw cannotAccess(v.address);
  }
  return v.bytes;
}

export function readLittleEndian(b: Buffer, from = 0, length = b.length - from): bigint {
  let r = 0n;
  for (let i = Math.min(from + length, b.length) - 1; i >= from; i--) r = (r << 8n) | BigInt(b[i]!);
  return r;
}

/** A scalar as a bigint: sign-extended for signed types, bit-fields extracted. */
export async function scalarOf(v: CValue, src: ValueSource): Promise<bigint> {
  const b = await bytesOf(v, src);
  const size = sizeOf(v.type);
  let raw: bigint;
  let bits: number;
  if (v.bitSize !== undefined) {
    raw = (readLittleEndian(b) >> BigInt(v.bitOffset ?? 0)) & ((1n << BigInt(v.bitSize)) - 1n);
    bits = v.bitSize;
  } else {
    raw = readLittleEndian(b, 0, Math.min(size, 8));
    bits = Math.min(size, 8) * 8;
  }
  const s = strip(v.type);
  if (s.kind === 'float') return raw;
  return isSigned(v.type) && bits > 0 ? BigInt.asIntN(bits, raw) : raw;
}

/** A value made of a number, in the given type. */
export function fromScalar(type: CType, value: bigint): CValue {
  const size = Math.max(1, Math.min(sizeOf(type) || 8, 8));
  const b = Buffer.alloc(size);
  let x = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return { type, bytes: b };
}
