import { printable } from '../errors.js';
import { S_IFLNK, S_IFMT, type CpioEntry } from './cpio-newc-reader.js';

const TYPE_LETTERS: Record<number, string> = { 0o140000: 's', 0o120000: 'l', 0o100000: '-', 0o060000: 'b', 0o040000: 'd', 0o020000: 'c', 0o010000: 'p' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** GNU cpio shows the year instead of the time for anything older than this, or in the future. */
const SIX_MONTHS_S = 6 * 30 * 24 * 60 * 60;

/**
 * An entry as `cpio -itvn` lists it (GNU cpio's long format, numeric owners: a guest's uids are
 * not the host's): mode string, links, uid, gid, size or `major, minor`, date in local time,
 * name and `-> target`. Names are made printable so each entry stays one line.
 */
export function cpioListingLine(e: CpioEntry, nowSeconds = Date.now() / 1000): string {
  const type = e.mode & S_IFMT;
  const size = type === 0o020000 || type === 0o060000 ? `${pad(e.rdevmajor, 3)}, ${pad(e.rdevminor, 3)}` : pad(e.size, 8);
  const link = type === S_IFLNK ? ` -> ${printable(e.target ?? '')}` : '';
  return `${modeString(e.mode)} ${pad(e.nlink, 3)} ${String(e.uid).padEnd(8)} ${String(e.gid).padEnd(8)} ${size} ${date(e.mtime, nowSeconds)} ${printable(e.name)}${link}`;
}

/** `drwxr-xr-x`, with s/S and t/T for the set-id and sticky bits as ls and cpio show them. */
export function modeString(mode: number): string {
  const bit = (mask: number, letter: string) => (mode & mask ? letter : '-');
  const special = (exec: number, flag: number, letter: string) => {
    if (mode & flag) return mode & exec ? letter : letter.toUpperCase();
    return bit(exec, 'x');
  };
  return [
    TYPE_LETTERS[mode & S_IFMT] ?? '?',
    bit(0o400, 'r'), bit(0o200, 'w'), special(0o100, 0o4000, 's'),
    bit(0o040, 'r'), bit(0o020, 'w'), special(0o010, 0o2000, 's'),
    bit(0o004, 'r'), bit(0o002, 'w'), special(0o001, 0o1000, 't'),
  ].join('');
}

/** ctime's `Mon dd HH:MM`, or `Mon dd  YYYY` when not within the last six months. */
function date(mtime: number, nowSeconds: number): string {
  const d = new Date(mtime * 1000);
  const day = `${MONTHS[d.getMonth()]} ${pad(d.getDate(), 2)}`;
  const age = nowSeconds - mtime;
  if (age > SIX_MONTHS_S || age < 0) return `${day}  ${d.getFullYear()}`;
  return `${day} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}
