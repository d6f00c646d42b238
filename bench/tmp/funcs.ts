import { ElfFile } from '../../src/symbols/elf/index.js';
import { BtfFile, BTF_KIND } from '../../src/symbols/btf/index.js';
const K = process.env.HOME + '/.cache/kdive/kernels/linux-image-6.1.0-57-cloud-amd64_6.1.192-3/vmlinux';
const elf = await ElfFile.open(K);
const btf = BtfFile.parse(await elf.readSection('.BTF'), K);
for (const name of ['tcp_sock', 'task_struct', 'sk_buff', 'virtnet_info', 'bpf_prog']) {
  const target = btf.lookup(`struct ${name}`)[0];
  const users: string[] = [];
  for (const f of btf.idsOfKind(BTF_KIND.FUNC)) {
    const proto = btf.type(btf.type(f)!.sizeOrType);
    if (!proto) continue;
    if (btf.params(proto).some((p) => { let t = btf.type(p.type); if (t?.kind !== BTF_KIND.PTR) return false; t = btf.type(t.sizeOrType); while (t && (t.kind === BTF_KIND.CONST || t.kind === BTF_KIND.VOLATILE)) t = btf.type(t.sizeOrType); return t?.id === target; })) users.push(btf.type(f)!.name);
  }
  console.log(name, users.length, users.slice(0, 8).join(' '));
}
