import type { Command } from 'commander';

/** `kdive libvirt`: placeholder registered in main.ts; the command's owner fills it in. */
export function registerLibvirtCommand(program: Command): void {
  void program;
}
