export { normalizeFinishReason } from './finish-reason.js';
export { normalizeSpan } from './normalize-span.js';
export { MAX_PARSED_PAYLOAD_CHARS } from './output-text.js';
