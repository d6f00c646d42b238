import { KdiveError } from '../errors.js';

/** Debian suites kdive fetches kernels from: bookworm through the system's apt, the others through kdive's own. */
export const DEBIAN_SUITES = ['bookworm', 'bookworm-backports', 'trixie'] as const;
export type DebianSuite = (typeof DEBIAN_SUITES)[number];

export type KernelSpec =
  | { kind: 'debian'; flavour: 'cloud-amd64' | 'amd64'; suite?: Exclude<DebianSuite, 'bookworm'> }
  | { kind: 'build'; dir: string }
  | { kind: 'file'; bzImage: string };

const ACCEPTED = "'debian:cloud-amd64', 'debian:amd64' (with @bookworm-backports or @trixie for 6.12), 'build:DIR', or a path to a bzImage";

export function parseKernelSpec(spec: string): KernelSpec {
  const s = spec.trim();
  if (s.startsWith('debian:')) {
    const [flavour, suite, extra] = s.slice('debian:'.length).split('@');
    if (suite !== undefined && (extra !== undefined || !(DEBIAN_SUITES as readonly string[]).includes(suite))) {
      throw new KdiveError(`unknown Debian suite '${s.slice(s.indexOf('@') + 1)}' in --kernel ${spec}: use one of ${DEBIAN_SUITES.join(', ')}`, 2);
    }
    const other = suite === undefined || suite === 'bookworm' ? undefined : (suite as Exclude<DebianSuite, 'bookworm'>);
    if (flavour === 'cloud-amd64' || flavour === 'amd64') return { kind: 'debian', flavour, ...(other ? { suite: other } : {}) };
    throw new KdiveError(`unknown Debian kernel flavour '${flavour}' in --kernel ${spec}: use ${ACCEPTED}`, 2);
  }
  if (s.startsWith('build:')) {
    const dir = s.slice('build:'.length);
    if (!dir) throw new KdiveError(`--kernel ${spec}: build: needs a folder (build:DIR)`, 2);
    return { kind: 'build', dir };
  }
  if (/^[a-z]+:/.test(s)) throw new KdiveError(`unknown kernel spec '${spec}': use ${ACCEPTED}`, 2);
  if (!s) throw new KdiveError(`empty kernel spec: use ${ACCEPTED}`, 2);
  return { kind: 'file', bzImage: s };
}
