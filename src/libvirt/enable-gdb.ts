import { KdiveError } from '../errors.js';

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';

/**
 * The classic `virsh edit` step: a libvirt domain XML with QEMU's gdbstub added through the
 * qemu:commandline namespace, on loopback only. Refuses XML that is not a qemu/kvm domain or
 * that already starts a gdbstub.
 */
export function enableGdbInDomainXml(xml: string, port = 1234): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new KdiveError(`--port: ${port} is not a TCP port`);
  const open = /<domain\b([^>]*)>/.exec(xml);
  if (!open || !/<\/domain>\s*$/.test(xml.trim())) throw new KdiveError('not a libvirt domain XML (no <domain> ... </domain>)');
  const type = /\btype\s*=\s*['"]([^'"]+)['"]/.exec(open[1]!)?.[1];
  if (type !== 'kvm' && type !== 'qemu') throw new KdiveError(`domain type '${type ?? '?'}' is not qemu or kvm: the gdbstub is QEMU's`);
  if (/-gdb\b|-s['"]/.test(xml)) throw new KdiveError('this domain already passes a gdbstub option to QEMU');
  // The namespace prefix the document uses for QEMU's schema, or `qemu` added to <domain>.
  const declared = new RegExp(`xmlns:(\\w+)\\s*=\\s*['"]${QEMU_NS.replace(/[./]/g, '\\$&')}['"]`).exec(open[1]!);
  const prefix = declared?.[1] ?? 'qemu';
  let out = declared ? xml : xml.replace(open[0], `<domain${open[1]} xmlns:${prefix}='${QEMU_NS}'>`);
  const args = `    <${prefix}:arg value='-gdb'/>\n    <${prefix}:arg value='tcp:127.0.0.1:${port}'/>\n`;
  const existing = new RegExp(`<${prefix}:commandline>`).exec(out);
  if (existing) out = out.replace(existing[0], `${existing[0]}\n${args.replace(/\n$/, '')}`);
  else out = out.replace(/<\/domain>\s*$/, `  <${prefix}:commandline>\n${args}  </${prefix}:commandline>\n</domain>\n`);
  return out;
}
