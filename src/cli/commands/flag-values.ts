import { Option } from 'commander';
import { KdiveError } from '../../errors.js';
import { checkQemuChoice, QEMU_CHOICE_HELP } from '../../vm/qemu-choice.js';

/**
 * Parsers for the numeric flags: a bad value is kdive's own one-line error naming the flag and
 * what it takes (exit 2), thrown while the command line is read, before anything is fetched or
 * booted. Defaults are given as numbers, so they skip the parser.
 */
export function wholeNumber(flag: string, what: string, min: number, max: number): (value: string) => number {
  return (value) => checkWhole(value, value, flag, what, min, max);
}

/** The PORT of a `--flag HOST:PORT`, checked, the error showing the whole value. */
export function portOf(flag: string, spec: string, port: string, allowFree = false): number {
  return checkWhole(port, spec, flag, allowFree ? 'a TCP port (0: a free one)' : 'a TCP port', allowFree ? 0 : 1, 65535);
}

function checkWhole(value: string, shown: string, flag: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new KdiveError(`${flag} ${shown}: expected ${what}, a whole number from ${min} to ${max}`, 2);
  return n;
}

export function positiveSeconds(flag: string): (value: string) => number {
  return (value) => {
    const n = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : NaN;
    if (!(n > 0) || !Number.isFinite(n)) throw new KdiveError(`${flag} ${value}: expected a number of seconds greater than 0`, 2);
    return n;
  };
}

export const tcpPort = (flag: string, allowFree = false) => wholeNumber(flag, allowFree ? 'a TCP port (0: a free one)' : 'a TCP port', allowFree ? 0 : 1, 65535);

/**
 * A size as qemu-img and mke2fs take it: a whole number with an optional K, M, G or T (`256M`,
 * `2G`); `relative` also takes a leading + or - (`image resize FILE +1G`).
 */
export function checkSize(label: string, size: string, relative = false): string {
  if (!(relative ? /^[+-]?\d+[KMGT]?$/i : /^\d+[KMGT]?$/i).test(size) || /^[+-]?0+[KMGT]?$/i.test(size)) {
    throw new KdiveError(`${label} ${size}: expected a size such as 256M or 2G${relative ? ' (or +1G to grow)' : ''}`, 2);
  }
  return size;
}

/** --memory and --cpus, as run, demo, debug and boot take them. */
export function vmSizeOptions(): Option[] {
  return [
    new Option('--memory <MiB>', 'guest memory in MiB').argParser(wholeNumber('--memory', 'MiB of guest memory', 64, 1 << 20)).default(512),
    new Option('--cpus <n>', 'virtual CPUs').argParser(wholeNumber('--cpus', 'a number of virtual CPUs', 1, 255)).default(1),
  ];
}

/** --qemu system|10|PATH, as every command that starts QEMU takes it (the default is read when booting: KDIVE_QEMU). */
export function qemuOption(): Option {
  return new Option('--qemu <system|10|path>', `which QEMU runs the guest: ${QEMU_CHOICE_HELP}; default $KDIVE_QEMU, else system`).argParser((v) => checkQemuChoice(v));
}

/** Where `--attach HOST:PORT|SOCKET` leads: a TCP stub, or a unix socket given by its absolute path. */
export function attachTarget(spec: string): { host: string; port: number } | { socketPath: string } {
  if (spec.startsWith('/')) return { socketPath: spec };
  const m = /^(.+):(\d+)$/.exec(spec);
  if (!m) throw new KdiveError(`--attach: expected HOST:PORT or the path of a unix socket, not '${spec}'`, 2);
  return { host: m[1]!, port: portOf('--attach', spec, m[2]!) };
}
