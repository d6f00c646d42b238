import { KdiveError } from '../errors.js';

export type KernelSpec =
  | { kind: 'debian'; flavour: 'cloud-amd64' | 'amd64' }
  | { kind: 'build'; dir: string }
  | { kind: 'file'; bzImage: string };

const ACCEPTED = "'debian:cloud-amd64', 'debian:amd64', 'build:DIR', or a path to a bzImage";

export function parseKernelSpec(spec: string): KernelSpec {
  const s = spec.trim();
  if (s.startsWith('debian:')) {
    const flavour = s.slice('debian:'.length);
    if (flavour === 'cloud-amd64' || flavour === 'amd64') return { kind: 'debian', flavour };
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
