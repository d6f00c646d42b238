import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKernelSpec } from './kernel-spec.js';
import { debFileName, parseAptShow, parseImageDependency } from './apt.js';

test('kernel specs: the accepted forms and clear errors for the rest', () => {
  assert.deepEqual(parseKernelSpec('debian:cloud-amd64'), { kind: 'debian', flavour: 'cloud-amd64' });
  assert.deepEqual(parseKernelSpec('debian:amd64'), { kind: 'debian', flavour: 'amd64' });
  assert.deepEqual(parseKernelSpec('build:/src/linux'), { kind: 'build', dir: '/src/linux' });
  assert.deepEqual(parseKernelSpec('/boot/vmlinuz-6.1'), { kind: 'file', bzImage: '/boot/vmlinuz-6.1' });
  assert.throws(() => parseKernelSpec('debian:arm64'), /unknown Debian kernel flavour 'arm64'/);
  assert.throws(() => parseKernelSpec('fedora:39'), /unknown kernel spec 'fedora:39'.*debian:cloud-amd64/);
  assert.throws(() => parseKernelSpec('build:'), /build:DIR/);
});

test('apt output: the versioned image package and the candidate record', () => {
  const depends = `linux-image-cloud-amd64
  Depends: linux-image-6.1.0-56-cloud-amd64
  Depends: linux-image-6.1.0-56-cloud-amd64-unsigned
`;
  assert.equal(parseImageDependency(depends, 'cloud-amd64'), 'linux-image-6.1.0-56-cloud-amd64');
  assert.equal(parseImageDependency('linux-image-cloud-amd64\n', 'cloud-amd64'), undefined);
  const show = `Package: linux-image-6.1.0-56-cloud-amd64-dbg
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 1602931
Size: 283418964
Filename: pool/updates/main/l/linux/linux-image-6.1.0-56-cloud-amd64-dbg_6.1.192-2_amd64.deb

Package: linux-image-6.1.0-56-cloud-amd64-dbg
Version: 6.1.100-1
Size: 1
`;
  const info = parseAptShow(show)!;
  assert.deepEqual([info.name, info.version, info.size], ['linux-image-6.1.0-56-cloud-amd64-dbg', '6.1.192-2', 283418964]);
  assert.equal(debFileName(info), 'linux-image-6.1.0-56-cloud-amd64-dbg_6.1.192-2_amd64.deb');
  assert.equal(debFileName({ name: 'x', version: '1:2.3-4', size: 1 }), 'x_1%3a2.3-4_amd64.deb');
  assert.equal(parseAptShow('garbage'), undefined);
});
