export * from './cpio-newc-writer.js';
export * from './busybox.js';
export * from './guest-init.js';
export * from './initramfs-builder.js';
export * from './rootfs-image.js';
