/** Text the stubs and QEMU send: target descriptions (XML), QMP lines. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseXml } from '../../../src/target/gdb-remote/xml-document.js';
import { readTargetDescription } from '../../../src/target/gdb-remote/target-description.js';
import { parseQmpLine } from '../../../src/vm/qmp-message.js';
import { parsedOrRejected, parsedOrRejectedAsync, property, regressions, type FuzzProperty } from '../fuzz-property.js';
import { mutatedTextFrom } from '../mutation.js';
import { fixture } from '../seeds/seeds.js';

const QEMU72 = ['target.xml', 'i386-64bit.xml'].map((f) => fixture('target-xml', 'qemu-7.2', f).toString('latin1'));
const QEMU10 = ['target.xml', 'i386-64bit.xml'].map((f) => fixture('target-xml', 'qemu-10', f).toString('latin1'));
const XML_SEEDS = [...QEMU72, ...QEMU10, '<a b="1">t&amp;<![CDATA[x]]><!-- c --><?pi x?></a>', '<!DOCTYPE t [<!ELEMENT t ANY>]><t/>'];

/** A register set as a model: names, sizes, explicit regnums here and there. */
const registers = fc.uniqueArray(
  fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), bits: fc.constantFrom(8, 16, 32, 64, 80, 128), regnum: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 4 }) }),
  { minLength: 1, maxLength: 40, selector: (r) => r.name },
);

/** What gdb's rules give for a model: numbering (regnum sets, else previous + 1) and g-packet offsets. */
function expectedLayout(regs: { name: string; bits: number; regnum: number | null }[]) {
  let next = 0;
  const numbered = regs.map((r) => {
    const regnum = r.regnum ?? next;
    next = regnum + 1;
    return { name: r.name, bitSize: r.bits, regnum };
  });
  let offset = 0;
  return numbered.sort((a, b) => a.regnum - b.regnum).map((r) => {
    const d = { ...r, offset };
    offset += r.bitSize / 8;
    return d;
  });
}

const QMP_SEEDS = [
  '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}',
  '{"return": {}, "id": 1}',
  '{"timestamp": {"seconds": 1733220000, "microseconds": 12345}, "event": "STOP"}',
  '{"error": {"class": "GenericError", "desc": "Device \'x\' not found"}, "id": 7}',
  '{"return": {"status": "running", "singlestep": false, "running": true}, "id": 3}',
];

export const protocolTextProperties: FuzzProperty[] = [
  property('XML (target descriptions)', 'any text: a root element or an XmlSyntaxError at an offset', fc.oneof(mutatedTextFrom(XML_SEEDS), fc.string({ maxLength: 200 })), (text) => {
    const root = parsedOrRejected(() => parseXml(text), /at offset \d+$/);
    if (root) assert.equal(typeof root.name, 'string');
  }),
  property('target description', 'mutated QEMU documents: a register layout or a TargetError naming the document', mutatedTextFrom([QEMU72[0]!, QEMU10[0]!]).chain((t) => fc.tuple(fc.constant(t), mutatedTextFrom([QEMU72[1]!, QEMU10[1]!]))), async ([target, core]) => {
    const read = async (annex: string) => (annex === 'target.xml' ? target : annex === 'i386-64bit.xml' ? core : target);
    const d = await parsedOrRejectedAsync(() => readTargetDescription(read), /target description|\.xml/);
    if (d) for (const r of d.registers) assert.ok(r.bitSize > 0 && Number.isInteger(r.regnum) && r.regnum >= 0, JSON.stringify(r));
  }),
  property('target description', 'a document made from a model gives the model\'s numbering and g offsets', registers, async (regs) => {
    const xml = `<?xml version="1.0"?><target><feature name="m">${regs.map((r) => `<reg name="${r.name}" bitsize="${r.bits}"${r.regnum === null ? '' : ` regnum="${r.regnum}"`}/>`).join('')}</feature></target>`;
    const d = await readTargetDescription(async () => xml);
    assert.deepEqual(d.registers.map((r) => ({ name: r.name, bitSize: r.bitSize, regnum: r.regnum, offset: r.offset })), expectedLayout(regs));
  }),
  property('QMP line', 'any line: a classified message or nothing, never a throw', fc.oneof(mutatedTextFrom(QMP_SEEDS), fc.json(), fc.string({ maxLength: 100 })), (line) => {
    const m = parseQmpLine(line);
    if (m?.kind === 'return' || m?.kind === 'error') assert.equal(typeof m.id, 'number');
    if (m?.kind === 'event') assert.equal(typeof m.event.event, 'string');
  }),
  property('QMP line', 'a message made from a model classifies as the model', fc.oneof(
    fc.record({ kind: fc.constant('return' as const), id: fc.nat(), value: fc.jsonValue() }),
    fc.record({ kind: fc.constant('error' as const), id: fc.nat(), errorClass: fc.string(), desc: fc.string() }),
    fc.record({ kind: fc.constant('event' as const), name: fc.string({ minLength: 1 }) }),
  ), (m) => {
    const line = m.kind === 'return' ? JSON.stringify({ return: m.value, id: m.id }) : m.kind === 'error' ? JSON.stringify({ error: { class: m.errorClass, desc: m.desc }, id: m.id }) : JSON.stringify({ event: m.name, timestamp: { seconds: 1, microseconds: 2 } });
    const got = parseQmpLine(line);
    if (m.kind === 'return') assert.deepEqual(got, { kind: 'return', id: m.id, value: JSON.parse(JSON.stringify(m.value)) });
    else if (m.kind === 'error') assert.deepEqual(got, { kind: 'error', id: m.id, errorClass: m.errorClass, desc: m.desc });
    else assert.equal(got?.kind === 'event' && got.event.event, m.name);
  }),
];

// Inputs that broke these properties once (npm run fuzz, issue 23).
regressions(protocolTextProperties, 'QMP line: any line', ['1', 'null', '[]', '{"QMP": null}', '{"error": null, "id": 3}']);
regressions(protocolTextProperties, 'XML (target descriptions)', ['<a b="1">t&e="128" type="vec128"/>\namp;</a>']);
