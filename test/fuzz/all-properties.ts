/** Every fuzz property, in the order the report lists them. */
import type { FuzzProperty } from './fuzz-property.js';
import { commandLineProperties } from './properties/command-line-properties.js';
import { imageProperties } from './properties/image-properties.js';
import { kdpProperties } from './properties/kdp-properties.js';
import { protocolTextProperties } from './properties/protocol-text-properties.js';
import { rspConversationProperties } from './properties/rsp-conversation-properties.js';
import { rspProperties } from './properties/rsp-properties.js';
import { symbolFileProperties } from './properties/symbol-file-properties.js';
import { kernelImageProperties } from './properties/kernel-image-properties.js';

export function allProperties(): FuzzProperty[] {
  return [...rspProperties, ...rspConversationProperties, ...protocolTextProperties, ...kdpProperties, ...symbolFileProperties, ...commandLineProperties, ...imageProperties, ...kernelImageProperties()];
}
