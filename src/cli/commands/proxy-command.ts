import type { Command } from 'commander';

/** `kdive proxy`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerProxyCommand(program: Command): void {
  void program;
}
