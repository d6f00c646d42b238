/**
 * Apple KDP datagrams. No XNU runs here, so the seeds are datagrams made by kdive's encoders with
 * the byte layouts of PROTOCOLS.md §3 (the ones test/support/fake-xnu-kdp-stub.ts answers with).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  KDP_HEADER_SIZE, KdpRequest, connectBody, decodeExceptionBody, decodeKdpHeader, encodeExceptionBody, encodeKdpPacket, readMem64Body,
} from '../../../src/target/kdp/kdp-packet.js';
import { property, type FuzzProperty } from '../fuzz-property.js';
import { mutatedFrom } from '../mutation.js';

const SEEDS = [
  encodeKdpPacket({ request: KdpRequest.CONNECT, isReply: false, seq: 0, key: 0 }, connectBody(49152, 49153, 'kdive')),
  encodeKdpPacket({ request: KdpRequest.READMEM64, isReply: false, seq: 3, key: 0x1234 }, readMem64Body(0xffffff8000200000n, 64)),
  encodeKdpPacket({ request: KdpRequest.READMEM64, isReply: true, seq: 3, key: 0x1234 }, Buffer.concat([Buffer.alloc(4), Buffer.alloc(64, 0xcc)])),
  encodeKdpPacket({ request: KdpRequest.EXCEPTION, isReply: false, seq: 9, key: 0x1234 }, encodeExceptionBody([{ cpu: 0, exception: 6, code: 2, subcode: 0 }])),
];

export const kdpProperties: FuzzProperty[] = [
  property('KDP datagram', 'any datagram: a header or a reason, and an EXCEPTION body: entries or a reason; never a throw', fc.oneof(mutatedFrom(SEEDS), fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a))), (d) => {
    const h = decodeKdpHeader(d);
    if (typeof h === 'string') return assert.ok(d.length < KDP_HEADER_SIZE);
    const infos = decodeExceptionBody(d.subarray(KDP_HEADER_SIZE));
    if (typeof infos !== 'string') assert.ok(infos.length > 0 && 4 + 16 * infos.length <= d.length - KDP_HEADER_SIZE);
  }),
  property('KDP datagram', 'a datagram made from a model decodes to the model', fc.record({
    request: fc.integer({ min: 0, max: 0x7f }), isReply: fc.boolean(), seq: fc.integer({ min: 0, max: 255 }), key: fc.nat({ max: 0xffffffff }),
    infos: fc.array(fc.record({ cpu: fc.nat({ max: 0xffffffff }), exception: fc.nat({ max: 0xffffffff }), code: fc.nat({ max: 0xffffffff }), subcode: fc.nat({ max: 0xffffffff }) }), { minLength: 1, maxLength: 8 }),
  }), (m) => {
    const body = encodeExceptionBody(m.infos);
    const d = encodeKdpPacket({ request: m.request, isReply: m.isReply, seq: m.seq, key: m.key }, body);
    assert.deepEqual(decodeKdpHeader(d), { request: m.request, isReply: m.isReply, seq: m.seq, length: d.length, key: m.key });
    assert.deepEqual(decodeExceptionBody(d.subarray(KDP_HEADER_SIZE)), m.infos.map((i) => ({ ...i })));
  }),
];
