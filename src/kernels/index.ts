export * from './kernel-artifacts.js';
export * from './kernel-spec.js';
export * from './apt.js';
export * from './debian-kernel.js';
export * from './file-kernel.js';
export * from './resolve-kernel.js';
export * from './debian-source.js';
export * from './apt-download.js';
