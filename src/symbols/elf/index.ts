export * from './elf-file.js';
export * from './symbol-table.js';
