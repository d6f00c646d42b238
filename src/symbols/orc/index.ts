export * from './orc-entry.js';
export * from './orc-table.js';
