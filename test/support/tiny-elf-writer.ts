/**
 * Writes a minimal ELF64 little-endian relocatable file holding the given sections (no
 * program headers, no symbols): enough for tests that need a real file with DWARF in it.
 */
export function writeTinyElf(sections: { name: string; data: Buffer; type?: number; addr?: bigint; flags?: bigint }[]): Buffer {
  const all = [...sections, { name: '.shstrtab', data: Buffer.alloc(0), type: 3 }];
  const names: number[] = [];
  let strtab = Buffer.from([0]);
  for (const s of all) {
    names.push(strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(`${s.name}\0`)]);
  }
  all[all.length - 1]!.data = strtab;
  const parts: Buffer[] = [];
  let offset = 64;
  const offsets: number[] = [];
  for (const s of all) {
    offsets.push(offset);
    parts.push(s.data);
    offset += s.data.length;
  }
  const shoff = (offset + 7) & ~7;
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELF64
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(1, 16); // ET_REL
  header.writeUInt16LE(62, 18); // x86-64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(shoff), 40);
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(64, 58);
  header.writeUInt16LE(all.length + 1, 60);
  header.writeUInt16LE(all.length, 62);
  const sh = Buffer.alloc(64 * (all.length + 1));
  all.forEach((s, i) => {
    const o = 64 * (i + 1);
    sh.writeUInt32LE(names[i]!, o);
    sh.writeUInt32LE(s.type ?? 1, o + 4);
    sh.writeBigUInt64LE(s.flags ?? 0n, o + 8);
    sh.writeBigUInt64LE(s.addr ?? 0n, o + 16);
    sh.writeBigUInt64LE(BigInt(offsets[i]!), o + 24);
    sh.writeBigUInt64LE(BigInt(s.data.length), o + 32);
    sh.writeBigUInt64LE(1n, o + 48);
  });
  const body = Buffer.concat([header, ...parts]);
  return Buffer.concat([body, Buffer.alloc(shoff - body.length), sh]);
}
