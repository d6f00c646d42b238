export * from './dwarf-info.js';
export * from './dwarf-unit.js';
export * from './dwarf-sections.js';
export * from './line-program.js';
export * from './address-ranges.js';
export * from './die.js';
export * from './constants.js';
