import { createRequire } from 'node:module';

type Iced = typeof import('iced-x86');

let loaded: Iced | undefined;

/**
 * iced-x86, loaded on first use: compiling it costs ~120 ms, a third of a `kdive sym` run that
 * never decodes an instruction. It is a CommonJS package, so a synchronous require keeps the
 * decoders' callers synchronous.
 */
export function iced(): Iced {
  loaded ??= createRequire(import.meta.url)('iced-x86') as Iced;
  return loaded;
}
