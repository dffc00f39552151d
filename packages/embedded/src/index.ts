export type { Notifier, RolloutStepOptions } from '@agent-canary/controller';
export { logNotifier, webhookNotifier } from '@agent-canary/controller';
export type { GateOptions } from '@agent-canary/gate';
export type { EmbeddedCanaryConfig, EmbeddedCanaryOptions } from './config.js';
export { EMBEDDED_CANARY_DEFAULTS, resolveEmbeddedCanaryConfig } from './config.js';
export type { EmbeddedCanary } from './embedded-canary.js';
export { createEmbeddedCanary } from './embedded-canary.js';
