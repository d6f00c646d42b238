export * from './orc-unwinder.js';
export * from './frame-pointer-unwinder.js';
export * from './pt-regs.js';
export * from './canonical-address.js';
