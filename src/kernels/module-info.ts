import { ElfFile } from '../symbols/elf/index.js';
import { FormatError } from '../errors.js';

/** What a module's .modinfo section says about it (the strings modinfo(8) prints). */
export interface ModuleInfo {
  name: string;
  /** Modules that must be loaded first (`depends=`, written by modpost). */
  depends: string[];
  vermagic?: string;
}

/** Reads the NUL-separated `key=value` strings of a .ko file's .modinfo section. */
export async function readModuleInfo(koPath: string): Promise<ModuleInfo> {
  const elf = await ElfFile.open(koPath);
  try {
    const section = elf.section('.modinfo');
    if (!section) throw new FormatError(koPath, 0, 'no .modinfo section: not a kernel module');
    const fields = new Map<string, string>();
    for (const entry of (await elf.readSection(section)).toString('latin1').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && !fields.has(entry.slice(0, eq))) fields.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    const name = fields.get('name') ?? moduleNameOf(koPath);
    return {
      name,
      depends: (fields.get('depends') ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(normalizeModuleName),
      vermagic: fields.get('vermagic'),
    };
  } finally {
    await elf.close();
  }
}

/** The kernel treats '-' and '_' in module names alike; we keep '_'. */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

export function moduleNameOf(koPath: string): string {
  return normalizeModuleName(koPath.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, ''));
}
