import { GDB_AMD64_LAYOUT } from '../target/gdb-remote/stub-profile.js';

/**
 * The target description kdive serves to gdb for an x86-64 target it fronts: gdb's own amd64
 * register set (core + SSE, the 536-byte `g` layout of GDB_AMD64_LAYOUT) so a stock gdb needs no
 * `set architecture` and sizes `g` exactly.
 */
export const AMD64_TARGET_XML = buildXml();

function buildXml(): string {
  const type = (name: string, bits: number): string => {
    if (name === 'rip') return 'code_ptr';
    if (name === 'rsp' || name === 'rbp') return 'data_ptr';
    if (name.startsWith('st')) return 'i387_ext';
    if (name.startsWith('xmm')) return 'uint128';
    return bits === 64 ? 'int64' : 'int32';
  };
  const reg = (name: string, bits: number) => {
    const group = /^(st\d|f)/.test(name) ? ' group="float"' : /^(xmm|mxcsr)/.test(name) ? ' group="vector"' : '';
    return `  <reg name="${name}" bitsize="${bits}" type="${type(name, bits)}"${group}/>`;
  };
  const core = GDB_AMD64_LAYOUT.filter((r) => !/^(xmm|mxcsr)/.test(r.name));
  const sse = GDB_AMD64_LAYOUT.filter((r) => /^(xmm|mxcsr)/.test(r.name));
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '<architecture>i386:x86-64</architecture>',
    '<feature name="org.gnu.gdb.i386.core">',
    ...core.map((r) => reg(r.name, r.bitSize)),
    '</feature>',
    '<feature name="org.gnu.gdb.i386.sse">',
    ...sse.map((r) => reg(r.name, r.bitSize)),
    '</feature>',
    '</target>',
    '',
  ].join('\n');
}
