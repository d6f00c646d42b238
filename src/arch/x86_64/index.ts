export * from './calling-convention.js';
export * from './dwarf-registers.js';
export * from './nop-instructions.js';
