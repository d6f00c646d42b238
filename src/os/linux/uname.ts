import { cString, requireSymbol, type KernelView } from './kernel-view.js';

export interface Uname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
}

/** `uname -a`'s fields from init_uts_ns.name (include/linux/utsname.h: six char[65]). */
export async function readUname(view: KernelView): Promise<Uname> {
  const base = requireSymbol(view, 'init_uts_ns') + BigInt(await view.types.offsetOf('struct uts_namespace', 'name'));
  const field = async (name: string) => cString(await view.read(base + BigInt(await view.types.offsetOf('struct new_utsname', name)), 65));
  return { sysname: await field('sysname'), nodename: await field('nodename'), release: await field('release'), version: await field('version'), machine: await field('machine') };
}
