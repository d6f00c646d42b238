import { iced } from './iced.js';

export interface DisassembledInstruction {
  address: bigint;
  length: number;
  bytes: Buffer;
  /** AT&T syntax as gdb prints it (`mov    0x918(%rdi),%rax`), branch targets with `<symbol+off>`. */
  text: string;
}

/**
 * Disassembles x86-64 code with iced-x86 in AT&T syntax, the way gdb shows it: lower-case hex
 * with 0x, the mnemonic padded to 6 columns, call/jump targets named by `symbolAt`.
 */
export function disassemble(code: Buffer, address: bigint, symbolAt: (a: bigint) => string | undefined, maxInstructions = Infinity): DisassembledInstruction[] {
  const { Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax, OpKind } = iced();
  const decoder = new Decoder(64, new Uint8Array(code.buffer, code.byteOffset, code.length), DecoderOptions.None);
  decoder.ip = address;
  const formatter = new Formatter(FormatterSyntax.Gas);
  formatter.hexPrefix = '0x';
  formatter.hexSuffix = '';
  formatter.uppercaseHex = false;
  formatter.branchLeadingZeros = false;
  formatter.leadingZeros = false;
  formatter.spaceAfterOperandSeparator = false;
  formatter.firstOperandCharIndex = 7;
  formatter.smallHexNumbersInDecimal = false;
  formatter.ripRelativeAddresses = true;
  const out: DisassembledInstruction[] = [];
  try {
    while (decoder.canDecode && out.length < maxInstructions) {
      const insn = decoder.decode();
      try {
        const at = insn.ip;
        const offset = Number(at - address);
        // gdb shows an encoded zero displacement (`0x0(%rbp)`), and omits one that is not encoded.
        formatter.showZeroDisplacements = insn.memoryDisplSize > 0;
        // gdb writes the scale of an index even when it is 1: `(%rax,%rax,1)`.
        let text = insn.isInvalid ? '(bad)' : formatter.format(insn).replace(/\((%\w+)?,(%\w+)\)/g, '($1,$2,1)');
        if (insn.isIpRelMemoryOperand) {
          const target = insn.ipRelMemoryAddress;
          const sym = symbolAt(target);
          text += `        # 0x${target.toString(16)}${sym ? ` <${sym}>` : ''}`;
        }
        const flow = insn.flowControl;
        const branch = flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch;
        if (branch && insn.op0Kind === OpKind.NearBranch64) {
          const sym = symbolAt(insn.nearBranchTarget);
          if (sym) text += ` <${sym}>`;
        }
        out.push({ address: at, length: insn.length, bytes: code.subarray(offset, offset + insn.length), text });
      } finally {
        insn.free();
      }
    }
  } finally {
    formatter.free();
    decoder.free();
  }
  return out;
}
