import type { Command } from 'commander';

/** `kdive symbolize`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerSymbolizeCommand(program: Command): void {
  void program;
}
