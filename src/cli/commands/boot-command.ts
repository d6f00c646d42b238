import type { Command } from 'commander';

/** `kdive boot`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerBootCommand(program: Command): void {
  void program;
}
