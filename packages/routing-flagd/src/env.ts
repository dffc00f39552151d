/** Environment variables read by `resolveFlagdAdapterConfig`, first match wins. */
export const FLAGD_ADAPTER_ENV = Object.freeze({
  path: Object.freeze(['AGENT_CANARY_FLAGD_FILE', 'FLAGD_OFFLINE_FLAG_SOURCE_PATH']),
});
