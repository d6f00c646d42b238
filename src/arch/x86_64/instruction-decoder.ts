import { iced } from './iced.js';

/** What stepping needs to know of one instruction: its length and whether it calls or returns. */
export interface DecodedInstruction {
  length: number;
  /** A direct or indirect call: `next`/`nexti` run to the instruction after it. */
  isCall: boolean;
  isReturn: boolean;
}

/** Decodes the first instruction of `code` (64-bit mode); undefined for bytes that are no instruction. */
export function decodeInstruction(code: Buffer, address: bigint): DecodedInstruction | undefined {
  const { Decoder, DecoderOptions, FlowControl } = iced();
  const decoder = new Decoder(64, new Uint8Array(code.buffer, code.byteOffset, code.length), DecoderOptions.None);
  decoder.ip = address;
  const insn = decoder.decode();
  try {
    if (insn.isInvalid) return undefined;
    const flow = insn.flowControl;
    return {
      length: insn.length,
      isCall: flow === FlowControl.Call || flow === FlowControl.IndirectCall,
      isReturn: flow === FlowControl.Return,
    };
  } finally {
    // iced-x86 objects live in WebAssembly memory: free them, the GC does not.
    insn.free();
    decoder.free();
  }
}
