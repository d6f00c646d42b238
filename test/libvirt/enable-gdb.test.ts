import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

const DOMAIN = `<domain type='kvm'>
  <name>debian12</name>
  <memory unit='KiB'>2097152</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
`;

/** Python's XML parser is the oracle: the output is well-formed and the args sit in QEMU's namespace. */
function qemuArgs(xml: string): string[] {
  const py = `import sys, xml.dom.minidom as m
d = m.parseString(sys.stdin.read())
ns = 'http://libvirt.org/schemas/domain/qemu/1.0'
print('\\n'.join(a.getAttribute('value') for a in d.getElementsByTagNameNS(ns, 'arg')))`;
  return execFileSync('/usr/bin/python3', ['-c', py], { input: xml, encoding: 'utf8' }).trim().split('\n');
}

test('libvirt enable-gdb adds a loopback gdbstub in the qemu namespace (new or existing commandline)', async () => {
  const dir = scratchDir('kdive-libvirt-');
  const file = path.join(dir, 'domain.xml');
  writeFileSync(file, DOMAIN);
  const r = await runKdive(['libvirt', 'enable-gdb', file, '--port', '5555']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(qemuArgs(r.stdout), ['-gdb', 'tcp:127.0.0.1:5555']);
  // A domain that already has a qemu:commandline keeps its arguments and its own prefix.
  const withArgs = DOMAIN.replace("<domain type='kvm'>", "<domain type='kvm' xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>").replace('</domain>', "  <q:commandline>\n    <q:arg value='-no-hpet'/>\n  </q:commandline>\n</domain>");
  writeFileSync(file, withArgs);
  const r2 = await runKdive(['libvirt', 'enable-gdb', file]);
  assert.deepEqual(qemuArgs(r2.stdout), ['-gdb', 'tcp:127.0.0.1:1234', '-no-hpet']);
});

test('libvirt enable-gdb refuses what is not a qemu domain, or already has a gdbstub', async () => {
  const dir = scratchDir('kdive-libvirt-bad-');
  const cases: [string, RegExp][] = [
    ['<network><name>x</name></network>', /not a libvirt domain XML/],
    [DOMAIN.replace("type='kvm'", "type='xen'"), /domain type 'xen' is not qemu or kvm/],
    [DOMAIN.replace('</domain>', "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-gdb'/></qemu:commandline></domain>"), /already passes a gdbstub/],
  ];
  for (const [xml, message] of cases) {
    const file = path.join(dir, 'd.xml');
    writeFileSync(file, xml);
    const r = await runKdive(['libvirt', 'enable-gdb', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
