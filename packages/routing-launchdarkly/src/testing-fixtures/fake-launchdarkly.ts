/**
 * A local stand-in for LaunchDarkly's REST API (flags endpoints only) that checks the
 * documented contract of what the adapter sends: path, method, `Authorization` header,
 * `Content-Type: application/json; domain-model=launchdarkly.semanticpatch`, body shape and
 * instruction parameters. Violations answer 400 (as LaunchDarkly would) and are recorded.
 * It applies the instructions to an in-memory REST flag representation, so read-back works.
 * Tests only: not part of the package build.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  LAUNCHDARKLY_TOTAL_WEIGHT,
  type LaunchDarklyRestEnvironment,
  type LaunchDarklyRestFlag,
} from '../flag-model.js';

type MutableEnvironment = { -readonly [K in keyof LaunchDarklyRestEnvironment]: LaunchDarklyRestEnvironment[K] };
type MutableFlag = Omit<LaunchDarklyRestFlag, 'environments' | 'variations' | '_version'> & {
  _version: number;
  variations: Array<{ _id: string; value: unknown; name?: string }>;
  environments: Record<string, MutableEnvironment>;
};

/** One request the fake server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  readonly status: number;
}

const KNOWN_KINDS = new Set([
  'turnFlagOn',
  'turnFlagOff',
  'updateFallthroughVariationOrRollout',
  'updateVariation',
  'updateOffVariation',
]);

/** A release flag as LaunchDarkly would hold it after a team created it (variations canary, control, stable). */
export function releaseFlagFixture(
  key: string,
  releases: { readonly canaryRelease: string; readonly stableRelease: string },
  environmentKey: string,
): LaunchDarklyRestFlag {
  return {
    key,
    _version: 1,
    variations: [
      { _id: `${key}-var-canary`, name: 'canary', value: { cohort: 'canary', release: releases.canaryRelease } },
      { _id: `${key}-var-control`, name: 'control', value: { cohort: 'control', release: releases.stableRelease } },
      { _id: `${key}-var-stable`, name: 'stable', value: { cohort: 'stable', release: releases.stableRelease } },
    ],
    environments: {
      [environmentKey]: {
        on: true,
        offVariation: 2,
        fallthrough: { variation: 2 },
        rules: [],
        targets: [],
        contextTargets: [],
        prerequisites: [],
      },
    },
  };
}

/**
 * The server-side SDK's data model of a REST flag in one environment (what LaunchDarkly
 * streams to SDKs), for `TestData.usePreconfiguredFlag`.
 */
export function sdkFlagOf(flag: LaunchDarklyRestFlag, environmentKey: string): Record<string, unknown> {
  const environment = flag.environments[environmentKey];
  if (environment === undefined) throw new Error(`no environment ${environmentKey}`);
  return {
    key: flag.key,
    version: flag._version ?? 1,
    on: environment.on,
    variations: flag.variations.map((variation) => variation.value),
    offVariation: environment.offVariation,
    fallthrough: environment.fallthrough ?? { variation: 0 },
    targets: [],
    contextTargets: [],
    rules: [],
    prerequisites: [],
    salt: `salt-${flag.key}`,
    trackEvents: false,
    trackEventsFallthrough: false,
  };
}

/** The fake REST API. Start it with `start()`, point the adapter's `baseUrl` at `url`. */
export class FakeLaunchDarkly {
  readonly requests: RecordedRequest[] = [];
  /** Contract violations seen (each answered with 400). */
  readonly violations: string[] = [];
  private readonly flags = new Map<string, MutableFlag>();
  private readonly failures: number[] = [];
  private outage: number | undefined;
  private readonly listeners = new Set<(flag: LaunchDarklyRestFlag) => void>();
  private server: Server | undefined;
  url = '';

  constructor(
    readonly options: {
      readonly accessToken: string;
      readonly projectKey: string;
      readonly environmentKey: string;
      readonly flags: readonly LaunchDarklyRestFlag[];
    },
  ) {
    for (const flag of options.flags) this.putFlag(flag);
  }

  /** Replaces a flag (a person editing it in the LaunchDarkly UI). */
  putFlag(flag: LaunchDarklyRestFlag): void {
    this.flags.set(flag.key, structuredClone(flag) as unknown as MutableFlag);
  }

  /** The stored flag (a copy). */
  flag(key: string): LaunchDarklyRestFlag | undefined {
    const flag = this.flags.get(key);
    return flag === undefined ? undefined : (structuredClone(flag) as LaunchDarklyRestFlag);
  }

  /** The next requests answer these HTTP statuses, one each (e.g. 503, 429). */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /**
   * Every request answers `status` until `setOutage(undefined)`: 503 for LaunchDarkly down,
   * 403 for a token that lost its write permission.
   */
  setOutage(status: number | undefined): void {
    this.outage = status;
  }

  /** Calls `listener` after every successful PATCH (to stream the flag to an SDK). */
  onChange(listener: (flag: LaunchDarklyRestFlag) => void): void {
    this.listeners.add(listener);
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://localhost');
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const reply = (status: number, payload: unknown): void => {
      this.requests.push({
        method: request.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: request.headers,
        body,
        status,
      });
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const failure = this.outage ?? this.failures.shift();
    if (failure !== undefined) return reply(failure, { code: 'simulated', message: `simulated HTTP ${failure}` });
    if (request.headers.authorization !== this.options.accessToken) {
      return reply(401, { code: 'unauthorized', message: 'Invalid access token' });
    }
    const match = /^\/api\/v2\/flags\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (match === null || decodeURIComponent(match[1] ?? '') !== this.options.projectKey) {
      return reply(404, { code: 'not_found', message: 'Unknown resource' });
    }
    const flag = this.flags.get(decodeURIComponent(match[2] ?? ''));
    if (flag === undefined) return reply(404, { code: 'not_found', message: 'Unknown resource' });
    if (request.method === 'GET') {
      const env = url.searchParams.get('env');
      if (env === null) return this.violation(reply, 'GET without ?env=');
      const environment = flag.environments[env];
      return reply(200, { ...flag, environments: environment === undefined ? {} : { [env]: environment } });
    }
    if (request.method !== 'PATCH') return reply(405, { code: 'method_not_allowed', message: request.method });
    const contentType = request.headers['content-type'] ?? '';
    if (!/^application\/json;\s*domain-model=launchdarkly\.semanticpatch$/i.test(contentType)) {
      return this.violation(reply, `Content-Type ${JSON.stringify(contentType)} is not a semantic patch`);
    }
    const problem = this.applyPatch(flag, body);
    if (problem !== undefined) return this.violation(reply, problem);
    for (const listener of this.listeners) listener(structuredClone(flag) as LaunchDarklyRestFlag);
    return reply(200, flag);
  }

  private violation(reply: (status: number, payload: unknown) => void, message: string): void {
    this.violations.push(message);
    reply(400, { code: 'invalid_request', message });
  }

  /** Validates the whole patch, then applies it (LaunchDarkly applies all instructions or none). */
  private applyPatch(flag: MutableFlag, body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null) return 'body is not a JSON object';
    const { environmentKey, instructions, comment } = body as Record<string, unknown>;
    if (typeof environmentKey !== 'string' || environmentKey !== this.options.environmentKey) {
      return `environmentKey ${JSON.stringify(environmentKey)} is not "${this.options.environmentKey}"`;
    }
    if (comment !== undefined && typeof comment !== 'string') return 'comment is not a string';
    if (!Array.isArray(instructions) || instructions.length === 0) return 'instructions is not a non-empty array';
    const ids = new Map(flag.variations.map((variation, index) => [variation._id, index]));
    const next = structuredClone(flag);
    const environment = next.environments[environmentKey];
    if (environment === undefined) return `unknown environment ${environmentKey}`;
    for (const instruction of instructions as Array<Record<string, unknown>>) {
      const kind = instruction['kind'];
      if (typeof kind !== 'string' || !KNOWN_KINDS.has(kind)) return `unknown instruction kind ${JSON.stringify(kind)}`;
      if (kind === 'turnFlagOn') environment.on = true;
      else if (kind === 'turnFlagOff') environment.on = false;
      else if (kind === 'updateOffVariation') {
        const index = ids.get(String(instruction['variationId']));
        if (index === undefined)
          return `updateOffVariation: unknown variationId ${JSON.stringify(instruction['variationId'])}`;
        environment.offVariation = index;
      } else if (kind === 'updateVariation') {
        const index = ids.get(String(instruction['variationId']));
        if (index === undefined)
          return `updateVariation: unknown variationId ${JSON.stringify(instruction['variationId'])}`;
        if (!('value' in instruction)) return 'updateVariation without value';
        const variation = next.variations[index];
        if (variation !== undefined) variation.value = instruction['value'];
      } else {
        const weights = instruction['rolloutWeights'];
        const contextKind = instruction['rolloutContextKind'] ?? 'user';
        const bucketBy = instruction['rolloutBucketBy'];
        if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) {
          return 'updateFallthroughVariationOrRollout: rolloutWeights is not an object';
        }
        if (typeof contextKind !== 'string') return 'rolloutContextKind is not a string';
        if (bucketBy !== undefined && typeof bucketBy !== 'string') return 'rolloutBucketBy is not a string';
        let total = 0;
        const variations: Array<{ variation: number; weight: number }> = [];
        for (const [id, weight] of Object.entries(weights as Record<string, unknown>)) {
          const index = ids.get(id);
          if (index === undefined) return `rolloutWeights: unknown variationId ${id}`;
          if (
            typeof weight !== 'number' ||
            !Number.isInteger(weight) ||
            weight < 0 ||
            weight > LAUNCHDARKLY_TOTAL_WEIGHT
          ) {
            return `rolloutWeights: weight ${JSON.stringify(weight)} is not an integer in 0..${LAUNCHDARKLY_TOTAL_WEIGHT}`;
          }
          total += weight;
          variations.push({ variation: index, weight });
        }
        if (total !== LAUNCHDARKLY_TOTAL_WEIGHT)
          return `rolloutWeights sum to ${total}, not ${LAUNCHDARKLY_TOTAL_WEIGHT}`;
        variations.sort((a, b) => a.variation - b.variation);
        environment.fallthrough = {
          rollout: { variations, contextKind, ...(bucketBy === undefined ? {} : { bucketBy }) },
        };
      }
    }
    next._version = flag._version + 1;
    Object.assign(flag, next);
    return undefined;
  }
}
