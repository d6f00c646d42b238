import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { KdiveError } from '../../errors.js';
import { enableGdbInDomainXml } from '../../libvirt/enable-gdb.js';
import { tcpPort } from './flag-values.js';

/** `kdive libvirt enable-gdb DOMAIN.xml [--port N]`: prints the domain XML with a loopback gdbstub. */
export function registerLibvirtCommand(program: Command): void {
  const libvirt = program.command('libvirt').description('libvirt helpers');
  libvirt
    .command('enable-gdb <domain-xml>')
    .description("print the domain XML with QEMU's gdbstub on 127.0.0.1 added (qemu:commandline); virsh define it")
    .addOption(new Option('--port <n>', 'TCP port of the gdbstub').argParser(tcpPort('--port')).default(1234))
    .action(async (file: string, opts: { port: number }) => {
      const xml = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new KdiveError(`cannot read ${file}: ${err.code ?? err.message}`);
      });
      process.stdout.write(enableGdbInDomainXml(xml, opts.port));
    });
}
