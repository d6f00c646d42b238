/**
 * A C integer type's name as gdb prints it and C programmers write it: GCC's DWARF says
 * `long unsigned int`, `short int`, `long long int`; gdb shows `unsigned long`, `short`, `long long`.
 * Names with other words (`__int128 unsigned`, `_Bool`, `double`) are returned as they are.
 */
export function canonicalBaseTypeName(name: string): string {
  const words = name.trim().split(/\s+/);
  let sign = '';
  let longs = 0;
  let short = false;
  let char = false;
  for (const w of words) {
    if (w === 'unsigned' || w === 'signed') sign = w;
    else if (w === 'long') longs++;
    else if (w === 'short') short = true;
    else if (w === 'char') char = true;
    else if (w !== 'int') return name;
  }
  if (char) return sign ? `${sign} char` : 'char';
  const size = short ? 'short' : longs === 2 ? 'long long' : longs === 1 ? 'long' : 'int';
  if (longs > 2 || (short && longs)) return name;
  return sign === 'unsigned' ? `unsigned ${size}` : size;
}
