export * from './packet-codec.js';
export * from './rsp-connection.js';
export * from './stop-reply.js';
export * from './stub-profile.js';
export * from './target-description.js';
export * from './register-values.js';
export * from './gdb-remote-target.js';
