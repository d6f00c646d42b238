export * from './calling-convention.js';
export * from './dwarf-registers.js';
