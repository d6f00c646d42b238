import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdiveError } from '../errors.js';
import { AptClient, debFileName, parseAptPolicyCandidate, parseAptShow, parseImageDependency, STALE_LISTS } from './apt.js';
import type { CommandRunner } from './command-runner.js';

// Captured from this machine (Debian 12, LC_ALL=C) on 2026-11-22; the tests parse them as they are.
const DEPENDS_CLOUD = `linux-image-cloud-amd64
  Depends: linux-image-6.1.0-56-cloud-amd64
`;
const DEPENDS_GENERIC = `linux-image-amd64
  Depends: linux-image-6.1.0-56-amd64
`;
const POLICY = `linux-image-6.1.0-56-cloud-amd64:
  Installed: (none)
  Candidate: 6.1.192-2
  Version table:
     6.1.192-2 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
`;
const SHOW_IMAGE = `Package: linux-image-6.1.0-56-cloud-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 105548
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Replaces: linux-image-6.1.0-56-cloud-amd64-unsigned
Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
Suggests: linux-doc-6.1, debian-kernel-handbook, grub-pc | grub-efi-amd64 | extlinux
Conflicts: linux-image-6.1.0-56-cloud-amd64-unsigned
Breaks: fwupdate (<< 12-7), initramfs-tools (<< 0.120+deb8u2), wireless-regdb (<< 2019.06.03-1~)
Description: Linux 6.1 for x86-64 cloud (signed)
Description-md5: e242fc20b020c823e8161e99ef4b93ef
Homepage: https://www.kernel.org/
Built-Using: linux (= 6.1.192-2)
Recommends: firmware-linux-free, apparmor
Section: kernel
Priority: optional
Filename: pool/updates/main/l/linux-signed-amd64/linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb
Size: 26713492
SHA256: e7d02b943971edcb8790e256c02cfab3bca6c3d37c1bf25392a57c71300615ee

`;
const SHOW_DBG_TWO_VERSIONS = `Package: linux-image-6.1.0-56-cloud-amd64-dbg
Source: linux
Version: 6.1.192-2
Installed-Size: 1754691
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Homepage: https://www.kernel.org/
Section: debug
Priority: optional
Filename: pool/updates/main/l/linux/linux-image-6.1.0-56-cloud-amd64-dbg_6.1.192-2_amd64.deb
Size: 283308068
SHA256: a835edf97e22ec84ddcd4d773596376be9eaae0c5094053b14c8e557cf9d8fb7

Package: linux-image-6.1.0-56-cloud-amd64-dbg
Version: 6.1.100-1
Size: 1
`;

test('apt-cache depends: the versioned image package of each flavour', () => {
  assert.equal(parseImageDependency(DEPENDS_CLOUD, 'cloud-amd64'), 'linux-image-6.1.0-56-cloud-amd64');
  assert.equal(parseImageDependency(DEPENDS_GENERIC, 'amd64'), 'linux-image-6.1.0-56-amd64');
  // The generic flavour must not take the cloud package (its name also ends in -amd64).
  assert.equal(parseImageDependency(DEPENDS_CLOUD, 'amd64'), undefined);
  // A metapackage that (also) depends on the -unsigned variant still gives the signed one.
  assert.equal(parseImageDependency(`${DEPENDS_CLOUD}  Depends: linux-image-6.1.0-56-cloud-amd64-unsigned\n`, 'cloud-amd64'), 'linux-image-6.1.0-56-cloud-amd64');
  assert.equal(parseImageDependency('linux-image-cloud-amd64\n', 'cloud-amd64'), undefined);
  assert.equal(parseImageDependency('', 'cloud-amd64'), undefined);
});

test('apt-cache policy: the candidate version, none when there is none', () => {
  assert.equal(parseAptPolicyCandidate(POLICY), '6.1.192-2');
  assert.equal(parseAptPolicyCandidate(POLICY.replace('Candidate: 6.1.192-2', 'Candidate: (none)')), undefined);
  assert.equal(parseAptPolicyCandidate(''), undefined); // what apt-cache policy prints for an unknown package
});

test('apt-cache show: the first (candidate) stanza with sizes', () => {
  const image = parseAptShow(SHOW_IMAGE)!;
  assert.deepEqual(image, {
    name: 'linux-image-6.1.0-56-cloud-amd64',
    version: '6.1.192-2',
    size: 26713492,
    installedKiB: 105548,
    filename: 'pool/updates/main/l/linux-signed-amd64/linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb',
    architecture: 'amd64',
  });
  const dbg = parseAptShow(SHOW_DBG_TWO_VERSIONS)!;
  assert.deepEqual([dbg.name, dbg.version, dbg.size, dbg.installedKiB], ['linux-image-6.1.0-56-cloud-amd64-dbg', '6.1.192-2', 283308068, 1754691]);
  assert.equal(debFileName(dbg), 'linux-image-6.1.0-56-cloud-amd64-dbg_6.1.192-2_amd64.deb');
  assert.equal(debFileName({ name: 'x', version: '1:2.3-4', size: 1 }), 'x_1%3a2.3-4_amd64.deb');
  assert.equal(parseAptShow('garbage'), undefined);
  assert.equal(parseAptShow(''), undefined);
  assert.equal(parseAptShow(SHOW_IMAGE.replace(/^Size: .*$/m, 'Size: many')), undefined);
});

/** A fake apt: answers from a table that `apt-get update` swaps for a fuller one; records every call. */
function fakeApt(before: Record<string, string>, after: Record<string, string>) {
  const calls: string[] = [];
  let table = before;
  const runner: CommandRunner = async (cmd, args) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (cmd === 'apt-get' && args[0] === 'update') {
      table = after;
      return '';
    }
    const key = `${cmd} ${args.join(' ')}`;
    if (key in table) return table[key]!;
    throw new KdiveError(`'${key}' failed: E: No packages found`);
  };
  return { runner, calls };
}

const FULL = {
  'apt-cache depends linux-image-cloud-amd64': DEPENDS_CLOUD,
  'apt-cache show --no-all-versions linux-image-6.1.0-56-cloud-amd64': SHOW_IMAGE,
};

test('empty package lists, not root: one line telling to run apt-get update, and no update attempted', async () => {
  const { runner, calls } = fakeApt({}, FULL);
  const apt = new AptClient({ runner, isRoot: false });
  await assert.rejects(apt.imagePackageFor('cloud-amd64'), (e: unknown) =>
    e instanceof KdiveError && e.message === `no package linux-image-cloud-amd64 in apt: ${STALE_LISTS}` && /run 'apt-get update' \(as root\)/.test(e.message));
  await assert.rejects(apt.packageInfo('linux-image-6.1.0-56-cloud-amd64'), /no package linux-image-6\.1\.0-56-cloud-amd64 in apt: package lists are empty or stale/);
  assert.ok(!calls.some((c) => c.startsWith('apt-get')), calls.join('\n'));
});

test('empty package lists as root: apt-get update runs once, then the questions are asked again', async () => {
  const { runner, calls } = fakeApt({}, FULL);
  const apt = new AptClient({ runner, isRoot: true });
  assert.equal(await apt.imagePackageFor('cloud-amd64'), 'linux-image-6.1.0-56-cloud-amd64');
  assert.equal((await apt.packageInfo('linux-image-6.1.0-56-cloud-amd64')).size, 26713492);
  // A package apt still does not know after the update: no second update.
  await assert.rejects(apt.packageInfo('linux-image-nonesuch'), /no package linux-image-nonesuch in apt: package lists are empty or stale/);
  assert.equal(calls.filter((c) => c.startsWith('apt-get update')).length, 1, calls.join('\n'));
  assert.deepEqual(calls.slice(0, 3), ['apt-cache depends linux-image-cloud-amd64', 'apt-get update -q', 'apt-cache depends linux-image-cloud-amd64']);
});

test('as root, a package missing even after the update says so', async () => {
  const { runner } = fakeApt({}, {});
  const apt = new AptClient({ runner, isRoot: true });
  await assert.rejects(apt.imagePackageFor('cloud-amd64'), /no package linux-image-cloud-amd64 in apt, even after 'apt-get update'/);
});
