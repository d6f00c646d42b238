import { readFile } from 'node:fs/promises';

/** A kernel's .config: each CONFIG_ option's value ('y', 'm', a number or a string); unset options are absent. */
export class KernelConfig {
  private constructor(readonly path: string, private readonly values: ReadonlyMap<string, string>) {}

  static async read(path: string): Promise<KernelConfig> {
    return KernelConfig.parse(path, await readFile(path, 'utf8'));
  }

  static parse(path: string, text: string): KernelConfig {
    const values = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
      if (m) values.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
    }
    return new KernelConfig(path, values);
  }

  /** 'y' built in, 'm' a module, undefined not set. */
  tristate(option: string): 'y' | 'm' | undefined {
    const v = this.values.get(option);
    return v === 'y' || v === 'm' ? v : undefined;
  }
}
