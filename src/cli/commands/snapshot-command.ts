import type { Command } from 'commander';
import { registerImageSnapshotCommands } from './image-command.js';

/** `kdive snapshot ...` (offline, on an image file); see image-command.ts. */
export function registerSnapshotCommand(program: Command): void {
  registerImageSnapshotCommands(program);
}
