import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdiveError } from '../errors.js';
import { parseKernelSpec } from './kernel-spec.js';
import { resolveKernel } from './resolve-kernel.js';

test('kernel specs: the accepted forms', () => {
  const good: Array<[string, unknown]> = [
    ['debian:cloud-amd64', { kind: 'debian', flavour: 'cloud-amd64' }],
    ['debian:amd64', { kind: 'debian', flavour: 'amd64' }],
    ['  debian:amd64 ', { kind: 'debian', flavour: 'amd64' }],
    ['debian:cloud-amd64@bookworm-backports', { kind: 'debian', flavour: 'cloud-amd64', suite: 'bookworm-backports' }],
    ['debian:amd64@trixie', { kind: 'debian', flavour: 'amd64', suite: 'trixie' }],
    ['debian:cloud-amd64@bookworm', { kind: 'debian', flavour: 'cloud-amd64' }],
    ['build:/src/linux', { kind: 'build', dir: '/src/linux' }],
    ['build:../linux-6.1', { kind: 'build', dir: '../linux-6.1' }],
    ['/boot/vmlinuz-6.1', { kind: 'file', bzImage: '/boot/vmlinuz-6.1' }],
    ['arch/x86/boot/bzImage', { kind: 'file', bzImage: 'arch/x86/boot/bzImage' }],
    ['./bzImage', { kind: 'file', bzImage: './bzImage' }],
  ];
  for (const [spec, want] of good) assert.deepEqual(parseKernelSpec(spec), want, spec);
});

test('kernel specs: the rest are refused with the accepted forms listed', () => {
  const bad: Array<[string, RegExp]> = [
    ['debian:arm64', /unknown Debian kernel flavour 'arm64'.*'debian:cloud-amd64', 'debian:amd64' \(with @bookworm-backports or @trixie for 6.12\), 'build:DIR', or a path to a bzImage/],
    ['debian:cloud-amd64@sid', /^unknown Debian suite 'sid' in --kernel debian:cloud-amd64@sid: use one of bookworm, bookworm-backports, trixie$/],
    ['debian:cloud-amd64@trixie@x', /unknown Debian suite 'trixie@x'/],
    ['debian:', /unknown Debian kernel flavour ''/],
    ['fedora:39', /unknown kernel spec 'fedora:39'.*debian:cloud-amd64/],
    ['http://example.org/bzImage', /unknown kernel spec/],
    ['build:', /build:DIR/],
    ['', /empty kernel spec.*debian:cloud-amd64/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => parseKernelSpec(spec), (e: unknown) => e instanceof KdiveError && re.test(e.message), spec);
  }
});

test('build:DIR without a built kernel in it says where to get one', async () => {
  await assert.rejects(resolveKernel('build:/src/linux'), (e: unknown) => e instanceof KdiveError && /^--kernel build:\/src\/linux: no arch\/x86\/boot\/bzImage there \(kdive kernel build prints the folder to use\)$/.test(e.message));
});
