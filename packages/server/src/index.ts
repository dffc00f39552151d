export type { ApiAction } from './api.js';
export { API_ACTION, API_ERROR_CODE, ControllerApi } from './api.js';
export type { ServerConfig, ServerOptions } from './config.js';
export { resolveServerConfig, SERVER_DEFAULTS, SERVER_ENV } from './config.js';
export type { ConvertLimits, DecodedBatch, RejectReason } from './otlp/convert.js';
export {
  decodeJsonRequest,
  decodeProtobufRequest,
  OtlpDecodeError,
  REJECT_REASON,
  ReceivedSpan,
} from './otlp/convert.js';
export type { ReceiverStats } from './receiver.js';
export { OTLP_CONTENT_TYPE, TraceReceiver } from './receiver.js';
export type { AgentCanaryServer } from './server.js';
export { OTLP_TRACES_PATH, startServer } from './server.js';
