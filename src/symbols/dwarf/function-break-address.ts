import { X86_64_FRAME_SETUP } from '../../arch/x86_64/frame-setup.js';
import { DW_AT, DW_FORM, DW_TAG } from './constants.js';
import { attrString } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';
import type { DwarfUnit } from './dwarf-unit.js';

/** Forms a DW_AT_location takes when it is a location list (DWARF 4 loclistptr, DWARF 5 sec_offset/loclistx). */
const LOCLIST_FORMS = new Set<number>([DW_FORM.sec_offset, DW_FORM.loclistx, DW_FORM.data4, DW_FORM.data8]);

/** The length of a function's frame set-up at its entry (the architecture's prologue), or undefined when it has none. */
export type FrameSetupLength = (code: Buffer) => number | undefined;

/**
 * Where gdb puts a breakpoint on a function: past the frame set-up the architecture recognises
 * (x86-64: `endbr64`, `push %rbp; mov %rsp,%rbp`), then on to the start of the next line; at the
 * entry itself when there is no set-up (the kernel without frame pointers), or when gdb trusts
 * the unit's variable locations (GCC >= 4.5 with location lists: dwarf2 reader's `locations_valid`).
 */
export class FunctionBreakAddress {
  private readonly validLocations = new Map<number, boolean>();

  constructor(
    private readonly dwarf: DwarfInfo,
    private readonly frameSetupLength: FrameSetupLength = X86_64_FRAME_SETUP,
  ) {}

  async at(entry: bigint): Promise<bigint> {
    let code: Buffer;
    try {
      code = await this.dwarf.sections.elf.readVirtual(entry, 12);
    } catch {
      return entry; // not in the file's sections (an address of a module): the entry it is
    }
    const setup = this.frameSetupLength(code);
    if (setup === undefined) return entry;
    const unit = await this.dwarf.unitForAddress(entry);
    if (unit && (await this.locationsValid(unit))) return entry;
    const pc = entry + BigInt(setup);
    const line = await this.dwarf.lineFor(pc);
    return line && line.start !== pc ? line.end : pc;
  }

  /** gdb's rule: a GCC (>= 4.5) unit in which some variable has a location list. */
  private async locationsValid(unit: DwarfUnit): Promise<boolean> {
    let v = this.validLocations.get(unit.header.offset);
    if (v === undefined) {
      v = false;
      const producer = attrString(await unit.rootOnly(), DW_AT.producer) ?? '';
      const gcc = /^GNU (C|C\+\+|C89|C99|C11|C17|Fortran)\S* (\d+)\.(\d+)/.exec(producer);
      if (gcc && (Number(gcc[2]) > 4 || (Number(gcc[2]) === 4 && Number(gcc[3]) >= 5))) {
        for await (const d of unit.walk()) {
          if ((d.tag === DW_TAG.variable || d.tag === DW_TAG.formal_parameter) && d.attrs.has(DW_AT.location) && LOCLIST_FORMS.has(d.forms.get(DW_AT.location) ?? -1)) {
            v = true;
            break;
          }
        }
      }
      this.validLocations.set(unit.header.offset, v);
    }
    return v;
  }
}
