import type { DwarfInfo } from '../symbols/dwarf/dwarf-info.js';
import { INT, type CType } from './c-types.js';
import { DwarfTypeBuilder } from './dwarf-type-builder.js';
import type { ProgramTypes } from './program-types.js';

/** ProgramTypes over DWARF: types by DIE, globals with their DW_AT_location, functions by the name index. */
export class DwarfProgramTypes implements ProgramTypes {
  readonly format = 'dwarf';
  readonly builder: DwarfTypeBuilder;

  constructor(readonly dwarf: DwarfInfo) {
    this.builder = new DwarfTypeBuilder(dwarf);
  }

  async findType(name: string): Promise<CType | undefined> {
    const found = await this.dwarf.findType(name);
    return found ? this.builder.fromDie(found.die) : undefined;
  }

  async globalVariable(name: string): Promise<{ type: CType; address?: bigint } | undefined> {
    const global = await this.dwarf.globalVariable(name);
    if (!global) return undefined;
    const type = global.typeOffset !== undefined ? await this.builder.fromOffset(global.typeOffset) : INT;
    return { type, address: global.address };
  }

  async functionType(name: string): Promise<CType | undefined> {
    for (const off of (await this.dwarf.nameIndex()).lookup(name, 'function')) {
      const die = await this.dwarf.dieAt(off);
      if (die) return this.builder.fromDie(die);
    }
    return undefined;
  }
}
