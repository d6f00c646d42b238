export * from './run-dir.js';
export * from './process-reaper.js';
export * from './free-port.js';
export * from './qemu-binary.js';
export * from './kvm-probe.js';
export * from './qmp-client.js';
export * from './qemu-launcher.js';
