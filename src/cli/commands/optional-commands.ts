import type { Command } from 'commander';

/**
 * Commands whose modules are developed in parallel (sym, debug, dap...). Each is loaded if
 * present, so the CLI never breaks while a folder is being written.
 */
const optional: { module: string; register: string }[] = [
  { module: './sym-command.js', register: 'registerSymCommand' },
];

export async function registerOptionalCommands(program: Command): Promise<void> {
  for (const { module, register } of optional) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(module)) as Record<string, unknown>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') continue;
      throw err;
    }
    const fn = mod[register];
    if (typeof fn === 'function') (fn as (p: Command) => void)(program);
  }
}
