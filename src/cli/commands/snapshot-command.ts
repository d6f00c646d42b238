import type { Command } from 'commander';

/** `kdive snapshot`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerSnapshotCommand(program: Command): void {
  void program;
}
