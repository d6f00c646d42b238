import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The kernel's own gdb helpers (`lx-ps`, `lx-dmesg`: scripts/gdb) for a Debian kernel, built once
 * from its linux-source with its own config plus CONFIG_GDB_SCRIPTS (`make scripts_gdb`, seconds),
 * cached by kernel version. Returns the vmlinux-gdb.py to `source` in gdb.
 */
export function ensureScriptsGdb(sourceTree: string, kernelConfig: string, cacheDir: string, version: string): string {
  const dir = path.join(cacheDir, 'scripts-gdb', version);
  const script = path.join(dir, 'vmlinux-gdb.py');
  if (existsSync(script)) return script;
  mkdirSync(dir, { recursive: true });
  copyFileSync(kernelConfig, path.join(dir, '.config'));
  appendFileSync(path.join(dir, '.config'), '\nCONFIG_GDB_SCRIPTS=y\n');
  execFileSync('make', ['-C', sourceTree, `O=${dir}`, 'olddefconfig'], { stdio: 'ignore' });
  execFileSync('make', ['-C', sourceTree, `O=${dir}`, 'scripts_gdb'], { stdio: 'ignore' });
  if (!existsSync(script)) throw new Error(`make scripts_gdb in ${dir} made no vmlinux-gdb.py`);
  return script;
}
