export { hex } from '../../format/hex.js';
