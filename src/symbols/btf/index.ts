export { BtfFile, type BtfType, type BtfMember, type BtfParam } from './btf-file.js';
export { BTF_KIND, type BtfKind } from './btf-kinds.js';
export { functionsTakingPointerTo } from './btf-type-users.js';
