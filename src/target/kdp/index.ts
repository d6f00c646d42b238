export * from './kdp-packet.js';
export * from './kdp-connection.js';
export * from './x86-thread-state.js';
export * from './kdp-target.js';
