export { isBzImage, parseBzImageHeader, type BzImageHeader } from './bzimage-header.js';
export { decodeLz4Legacy, LZ4_LEGACY_MAGIC } from './lz4-legacy-decoder.js';
export { decompressPayload, payloadCompression, type PayloadCompression } from './payload-decompression.js';
export { extractVmlinux } from './extract-vmlinux.js';
export { extractedVmlinuxPath, openKernelImage, type OpenedKernelImage } from './open-kernel-image.js';
