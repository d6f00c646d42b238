import { parentPort, workerData } from 'node:worker_threads';
import { ElfFile } from '../elf/elf-file.js';
import { DwarfSections } from './dwarf-sections.js';
import { indexRange } from './name-index.js';

/** A worker thread of DwarfNameIndex.build: indexes the units in [start, end) of .debug_info. */
const { file, start, end } = workerData as { file: string; start: number; end: number };
const port = parentPort!;
const elf = await ElfFile.open(file);
try {
  const result = await indexRange(new DwarfSections(elf), start, end, (done) => port.postMessage({ done }));
  port.postMessage({ result });
} catch (err) {
  port.postMessage({ error: err instanceof Error ? err.message : String(err) });
} finally {
  await elf.close();
}
