import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { KdiveError } from '../../errors.js';
import { formatSymbolizedTrace, symbolizeTrace } from '../../crash/oops-symbolizer.js';
import { KernelSymbols } from '../../session/kernel-symbols.js';

/** `kdive symbolize VMLINUX [FILE]`: an oops or stack dump with file:line and inlined frames. */
export function registerSymbolizeCommand(program: Command): void {
  program
    .command('symbolize <vmlinux> [file]')
    .description('add file:line and inlined frames to the func+0xOFF/0xSIZE entries of an oops or trace (stdin without FILE)')
    .option('--json', 'one JSON object per symbolized line')
    .action(async (vmlinux: string, file: string | undefined, opts: { json?: boolean }) => {
      const text = file
        ? await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new KdiveError(`cannot read ${file}: ${err.code ?? err.message}`);
          })
        : await readStdin();
      const symbols = await KernelSymbols.open(vmlinux);
      try {
        const lines = await symbolizeTrace(text, symbols);
        if (!opts.json) {
          process.stdout.write(`${formatSymbolizedTrace(lines)}\n`);
          return;
        }
        for (const l of lines) {
          if (!l.symbolized) continue;
          const s = l.symbolized;
          process.stdout.write(`${JSON.stringify({ line: s.line, function: s.function, offset: Number(s.offset), address: `0x${s.address.toString(16)}`, frames: s.frames.map((f) => ({ function: f.function, file: f.file ?? null, line: f.line ?? null, inlined: f.inlined })) })}\n`);
        }
      } finally {
        await symbols.close();
      }
    });
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
