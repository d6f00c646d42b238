export * from './calling-convention.js';
