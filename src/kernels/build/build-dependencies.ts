import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { KdiveError } from '../../errors.js';

/** What `make` of a kernel needs beyond a compiler: program or header, and its Debian package. */
const NEEDS: { check: () => boolean; pkg: string }[] = [
  { check: () => onPath('flex'), pkg: 'flex' },
  { check: () => onPath('bison'), pkg: 'bison' },
  { check: () => onPath('bc'), pkg: 'bc' },
  { check: () => onPath('gcc') && onPath('make'), pkg: 'build-essential' },
  { check: () => existsSync('/usr/include/libelf.h') || existsSync('/usr/include/gelf.h'), pkg: 'libelf-dev' },
  { check: () => existsSync('/usr/include/openssl/opensslv.h') || existsSync('/usr/include/x86_64-linux-gnu/openssl/opensslconf.h'), pkg: 'libssl-dev' },
];

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs missing build dependencies as root (apt-get), or names them. */
export function ensureBuildDependencies(log: (line: string) => void): void {
  const missing = NEEDS.filter((n) => !n.check()).map((n) => n.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new KdiveError(`building a kernel needs these Debian packages: ${missing.join(' ')} (apt-get install ${missing.join(' ')})`);
  log(`installing build dependencies: ${missing.join(' ')}`);
  try {
    execFileSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    throw new KdiveError(`apt-get install ${missing.join(' ')} failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').pop()}`);
  }
}
