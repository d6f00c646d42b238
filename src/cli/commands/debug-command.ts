import type { Command } from 'commander';

/** `kdive debug`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerDebugCommand(program: Command): void {
  void program;
}
