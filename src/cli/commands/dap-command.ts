import type { Command } from 'commander';

/** `kdive dap`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerDapCommand(program: Command): void {
  void program;
}
