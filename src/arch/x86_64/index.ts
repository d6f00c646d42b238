export * from './calling-convention.js';
export * from './dwarf-registers.js';
export * from './nop-instructions.js';
export * from './x86-64-arch.js';
