import { ATTR_RELEASE_ID, ConfigError } from '@agent-canary/conventions';
import { diag } from '@opentelemetry/api';
import type { NodeSDK, NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type ContentCaptureOptions, type MaskFunction, setGlobalContentCapture } from './content.js';
import { importPeer } from './peer.js';
import { ReleaseTaggingSpanProcessor } from './tagging-processor.js';
import { INSTRUMENTATION_SCOPE_NAME } from './tracer.js';

type MetricReader = NonNullable<NodeSDKConfiguration['metricReaders']>[number];
type Instrumentation = NodeSDKConfiguration['instrumentations'][number];

/** OTLP/HTTP (JSON) trace export. Unset fields come from the standard `OTEL_EXPORTER_OTLP_*` variables. */
export interface OtlpOptions {
  /** Full traces URL. @default env `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces` */
  readonly url?: string;
  /** Extra HTTP headers. @default env `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Export to Langfuse through `@langfuse/otel`'s `LangfuseSpanProcessor`. */
export interface LangfuseOptions {
  /** @default env `LANGFUSE_PUBLIC_KEY` */
  readonly publicKey?: string;
  /** @default env `LANGFUSE_SECRET_KEY` */
  readonly secretKey?: string;
  /** @default env `LANGFUSE_BASE_URL`, else `https://cloud.langfuse.com` */
  readonly baseUrl?: string;
  /** Langfuse environment label. @default env `LANGFUSE_TRACING_ENVIRONMENT`, else not set */
  readonly environment?: string;
  /** `batched` for servers, `immediate` for short-lived processes. @default 'batched' */
  readonly exportMode?: 'batched' | 'immediate';
}

/** Options of `registerAgentCanary`. Every field is optional. */
export interface RegisterOptions extends ContentCaptureOptions {
  /** `service.name` of the resource. @default env `OTEL_SERVICE_NAME`, else the SDK's default */
  readonly serviceName?: string;
  /**
   * OTLP/HTTP export: `true` or options to enable, `false` to disable.
   * @default enabled when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set
   */
  readonly otlp?: boolean | OtlpOptions;
  /**
   * Langfuse export: `true` or options to enable, `false` to disable.
   * @default enabled when `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY` are set
   */
  readonly langfuse?: boolean | LangfuseOptions;
  /** More span processors, after the tagging processor (e.g. the processor package's BehaviorSpanProcessor). @default [] */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** Metric readers for the SDK's meter provider. @default [] (no meter provider) */
  readonly metricReaders?: readonly MetricReader[];
  /** OpenTelemetry instrumentations to register (HTTP, undici, ...). @default [] */
  readonly instrumentations?: readonly Instrumentation[];
  /**
   * Environment that agent-canary's own resolution reads (for tests). The OTLP exporter, the
   * Node SDK and LangfuseSpanProcessor still read their own variables from `process.env`.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** `registerAgentCanary` options after defaults < environment < explicit options. */
export interface RegisterConfig {
  readonly serviceName: string | undefined;
  /** `undefined` when OTLP export is off. */
  readonly otlp: OtlpOptions | undefined;
  /** `undefined` when Langfuse export is off. */
  readonly langfuse:
    | {
        readonly publicKey: string;
        readonly secretKey: string;
        readonly baseUrl: string;
        readonly environment: string | undefined;
        readonly exportMode: 'batched' | 'immediate';
      }
    | undefined;
  readonly captureContent: boolean;
  readonly mask: MaskFunction | undefined;
  readonly spanProcessors: readonly SpanProcessor[];
  readonly metricReaders: readonly MetricReader[];
  readonly instrumentations: readonly Instrumentation[];
}

/** Defaults of `registerAgentCanary`. */
export const REGISTER_DEFAULTS = Object.freeze({
  captureContent: false,
  langfuseBaseUrl: 'https://cloud.langfuse.com',
  langfuseExportMode: 'batched',
} as const);

/** Environment variable that turns content capture on (`true`/`false`, `1`/`0`). */
export const ENV_CAPTURE_CONTENT = 'AGENT_CANARY_CAPTURE_CONTENT';

/** Handle returned by `registerAgentCanary`. */
export interface AgentCanaryHandle {
  /** The started OpenTelemetry Node SDK. */
  readonly sdk: NodeSDK;
  /** Exports every finished span now (all span processors); for tests and short-lived processes. */
  forceFlush(): Promise<void>;
  /** Flushes and shuts the SDK down; idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Resolves `registerAgentCanary` options: defaults < environment < explicit options. Throws
 * `ConfigError` naming the field (or `env.NAME`) on invalid values.
 */
export function resolveRegisterConfig(
  options: RegisterOptions = {},
  env: Readonly<Record<string, string | undefined>> = options.env ?? process.env,
): RegisterConfig {
  return Object.freeze({
    serviceName: options.serviceName ?? nonEmpty(env['OTEL_SERVICE_NAME']),
    otlp: resolveOtlp(options.otlp, env),
    langfuse: resolveLangfuse(options.langfuse, env),
    captureContent: options.captureContent ?? parseBoolean(env[ENV_CAPTURE_CONTENT], `env.${ENV_CAPTURE_CONTENT}`),
    mask: options.mask,
    spanProcessors: Object.freeze([...(options.spanProcessors ?? [])]),
    metricReaders: Object.freeze([...(options.metricReaders ?? [])]),
    instrumentations: Object.freeze([...(options.instrumentations ?? [])]),
  });
}

/**
 * Starts the OpenTelemetry Node SDK with agent-canary's tagging processor first, then your
 * `spanProcessors`, then OTLP/HTTP and/or Langfuse export (see `resolveRegisterConfig`), and
 * sets the process-wide content-capture default. Call it once, before the agent runs.
 *
 * @example
 * const canary = await registerAgentCanary({ serviceName: 'support-agent', spanProcessors: [behaviour] });
 * process.on('SIGTERM', () => void canary.shutdown());
 */
export async function registerAgentCanary(options: RegisterOptions = {}): Promise<AgentCanaryHandle> {
  const config = resolveRegisterConfig(options);
  const { NodeSDK } = await importPeer('@opentelemetry/sdk-node', 'sdk', () => import('@opentelemetry/sdk-node'));
  const processors: SpanProcessor[] = [new ReleaseTaggingSpanProcessor(), ...config.spanProcessors];
  if (config.otlp !== undefined) {
    const [{ OTLPTraceExporter }, { BatchSpanProcessor }] = await Promise.all([
      importPeer(
        '@opentelemetry/exporter-trace-otlp-http',
        'otlp',
        () => import('@opentelemetry/exporter-trace-otlp-http'),
      ),
      importPeer('@opentelemetry/sdk-trace-base', 'otlp', () => import('@opentelemetry/sdk-trace-base')),
    ]);
    const exporter = new OTLPTraceExporter({
      ...(config.otlp.url === undefined ? {} : { url: config.otlp.url }),
      ...(config.otlp.headers === undefined ? {} : { headers: { ...config.otlp.headers } }),
    });
    processors.push(new BatchSpanProcessor(exporter));
  }
  if (config.langfuse !== undefined) {
    const { LangfuseSpanProcessor, isDefaultExportSpan } = await importPeer(
      '@langfuse/otel',
      'langfuse',
      () => import('@langfuse/otel'),
    );
    processors.push(
      new LangfuseSpanProcessor({
        publicKey: config.langfuse.publicKey,
        secretKey: config.langfuse.secretKey,
        baseUrl: config.langfuse.baseUrl,
        exportMode: config.langfuse.exportMode,
        ...(config.langfuse.environment === undefined ? {} : { environment: config.langfuse.environment }),
        // Its default filter drops plain custom spans; ours carry the release and must reach Langfuse.
        shouldExportSpan: ({ otelSpan }) => isDefaultExportSpan(otelSpan) || isAgentCanarySpan(otelSpan),
      }),
      // LangfuseSpanProcessor stamps LANGFUSE_RELEASE (deploy-wide) on every span in onStart;
      // the per-request release must win, so it is stamped again after it.
      new ReleaseTaggingSpanProcessor(),
    );
  }
  const sdk = new NodeSDK({
    ...(config.serviceName === undefined ? {} : { serviceName: config.serviceName }),
    spanProcessors: processors,
    // Without explicit readers/processors the SDK would start OTLP metric and log exporters
    // towards localhost; metrics are opt-in here, logs stay env-driven when configured.
    metricReaders: [...config.metricReaders],
    // The SDK reads OTEL_LOGS_EXPORTER from process.env itself, so that is what decides here.
    ...(process.env['OTEL_LOGS_EXPORTER'] === undefined ? { logRecordProcessors: [] } : {}),
    instrumentations: [...config.instrumentations],
  });
  sdk.start();
  setGlobalContentCapture({ captureContent: config.captureContent, mask: config.mask });
  let stopping: Promise<void> | undefined;
  return {
    sdk,
    forceFlush: async () => {
      await Promise.all(processors.map((processor) => processor.forceFlush()));
    },
    shutdown: () => {
      stopping ??= sdk.shutdown().finally(() => setGlobalContentCapture(undefined));
      return stopping;
    },
  };
}

/** Spans Langfuse must not drop: ours, and any span served under a release. */
function isAgentCanarySpan(span: ReadableSpan): boolean {
  if (span.instrumentationScope.name === INSTRUMENTATION_SCOPE_NAME) return true;
  if (span.attributes[ATTR_RELEASE_ID] !== undefined) return true;
  return Object.keys(span.attributes).some((key) => key.startsWith('gen_ai.'));
}

function resolveOtlp(
  option: RegisterOptions['otlp'],
  env: Readonly<Record<string, string | undefined>>,
): OtlpOptions | undefined {
  if (option === false) return undefined;
  if (option === true) return {};
  if (option !== undefined) {
    if (typeof option !== 'object' || option === null) {
      throw new ConfigError({ path: 'otlp', expected: 'a boolean or { url?, headers? }', received: option });
    }
    if (option.url !== undefined) checkUrl(option.url, 'otlp.url');
    return Object.freeze({ ...option });
  }
  if (env['OTEL_TRACES_EXPORTER']?.split(',').some((name) => name.trim() === 'none')) return undefined;
  const endpoint = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) ?? nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  // The exporter reads the endpoint, headers and timeout variables itself.
  return endpoint === undefined ? undefined : Object.freeze({});
}

function resolveLangfuse(
  option: RegisterOptions['langfuse'],
  env: Readonly<Record<string, string | undefined>>,
): RegisterConfig['langfuse'] {
  if (option === false) return undefined;
  if (option !== undefined && option !== true && (typeof option !== 'object' || option === null)) {
    throw new ConfigError({ path: 'langfuse', expected: 'a boolean or Langfuse options', received: option });
  }
  const explicit = typeof option === 'object' ? option : {};
  const publicKey = explicit.publicKey ?? nonEmpty(env['LANGFUSE_PUBLIC_KEY']);
  const secretKey = explicit.secretKey ?? nonEmpty(env['LANGFUSE_SECRET_KEY']);
  if (option === undefined) {
    if (publicKey === undefined && secretKey === undefined) return undefined;
    // Half-configured credentials are a mistake worth stopping on, not a silent no-export.
    if (publicKey === undefined)
      throw new ConfigError({
        path: 'env.LANGFUSE_PUBLIC_KEY',
        expected: 'a Langfuse public key (LANGFUSE_SECRET_KEY is set)',
      });
    if (secretKey === undefined)
      throw new ConfigError({
        path: 'env.LANGFUSE_SECRET_KEY',
        expected: 'a Langfuse secret key (LANGFUSE_PUBLIC_KEY is set)',
      });
  }
  if (publicKey === undefined)
    throw new ConfigError({
      path: 'langfuse.publicKey',
      expected: 'a Langfuse public key (or env LANGFUSE_PUBLIC_KEY)',
    });
  if (secretKey === undefined)
    throw new ConfigError({
      path: 'langfuse.secretKey',
      expected: 'a Langfuse secret key (or env LANGFUSE_SECRET_KEY)',
    });
  const baseUrl = explicit.baseUrl ?? nonEmpty(env['LANGFUSE_BASE_URL']) ?? REGISTER_DEFAULTS.langfuseBaseUrl;
  checkUrl(baseUrl, explicit.baseUrl === undefined ? 'env.LANGFUSE_BASE_URL' : 'langfuse.baseUrl');
  const exportMode = explicit.exportMode ?? REGISTER_DEFAULTS.langfuseExportMode;
  if (exportMode !== 'batched' && exportMode !== 'immediate') {
    throw new ConfigError({ path: 'langfuse.exportMode', expected: "'batched' or 'immediate'", received: exportMode });
  }
  if (env['LANGFUSE_RELEASE'] !== undefined) {
    diag.info('agent-canary: LANGFUSE_RELEASE is set; spans served under a rollout keep their own langfuse.release');
  }
  return Object.freeze({
    publicKey,
    secretKey,
    baseUrl,
    environment: explicit.environment ?? nonEmpty(env['LANGFUSE_TRACING_ENVIRONMENT']),
    exportMode,
  });
}

function parseBoolean(value: string | undefined, path: string): boolean {
  if (value === undefined || value.trim() === '') return REGISTER_DEFAULTS.captureContent;
  const normalised = value.trim().toLowerCase();
  if (normalised === 'true' || normalised === '1') return true;
  if (normalised === 'false' || normalised === '0') return false;
  throw new ConfigError({ path, expected: 'true, false, 1 or 0', received: value });
}

function checkUrl(value: unknown, path: string): void {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new ConfigError({ path, expected: 'an http(s) URL', received: value });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
