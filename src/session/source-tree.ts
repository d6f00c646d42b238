import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Maps the paths DWARF records (relative to the kernel's build directory, or absolute under the
 * build machine's tree, `/build/reproducible-path/linux-6.1.192/...`) onto a local source tree,
 * and reads lines from it.
 */
export class SourceTree {
  private readonly files = new Map<string, string[] | undefined>();

  constructor(readonly root: string) {}

  /** The local path of a DWARF file name. */
  localPath(file: string): string {
    const rel = file.startsWith('/') ? file.replace(/^\/build\/[^/]+\/linux-[^/]+\//, '').replace(/^\/+/, '') : file;
    return path.join(this.root, rel);
  }

  /** Line `line` (1-based) of a file, or undefined when the file or line is not there. */
  line(file: string, line: number): string | undefined {
    const local = this.localPath(file);
    if (!this.files.has(local)) {
      try {
        this.files.set(local, readFileSync(local, 'utf8').split('\n'));
      } catch {
        this.files.set(local, undefined);
      }
    }
    return this.files.get(local)?.[line - 1];
  }
}
