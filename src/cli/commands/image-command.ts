import type { Command } from 'commander';

/** `kdive image`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerImageCommand(program: Command): void {
  void program;
}
