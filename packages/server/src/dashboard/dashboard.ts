import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { sendBytes, sendJson } from '../http.js';
import { loadChartJsSource } from '../report/html.js';
import { ROLLOUT_VIEW_SCRIPT } from '../report/view-script.js';
import { ReadAccess } from './access.js';
import { DASHBOARD_APP_SCRIPT } from './app-script.js';
import type { DashboardConfig } from './config.js';
import { DASHBOARD_ASSET, DASHBOARD_SECURITY_HEADERS, DASHBOARD_STYLE, dashboardShell } from './page.js';
import { releasesDocument, rolloutDocument, rolloutListDocument, rolloutVersion, VerdictCache } from './views.js';

/** Prefix of the dashboard's JSON documents. */
export const DASHBOARD_API_PREFIX = '/dashboard/api/';

/** What the dashboard learns from the server it runs in. */
export interface DashboardContext {
  /** Token of the controller API: it grants read access too. */
  readonly apiToken: string | undefined;
  /** The controller API is there to take actions (the pages show the action buttons). */
  readonly actions: boolean;
  /** Whether the listener is on a loopback address (reads without a token are possible only then). */
  readonly loopback: boolean;
}

interface CachedDocument {
  readonly version: string;
  readonly body: Buffer;
  readonly etag: string;
}

/** Rollout documents kept built (the latest few pages open). */
const CACHED_DOCUMENTS = 16;

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  readonly etag: string;
}

const JS = 'text/javascript; charset=utf-8';
const ASSET_SOURCES: Readonly<Record<string, { readonly contentType: string; readonly source: () => string }>> = {
  [DASHBOARD_ASSET.chartJs]: { contentType: JS, source: loadChartJsSource },
  [DASHBOARD_ASSET.view]: { contentType: JS, source: () => ROLLOUT_VIEW_SCRIPT },
  [DASHBOARD_ASSET.app]: { contentType: JS, source: () => DASHBOARD_APP_SCRIPT },
  [DASHBOARD_ASSET.style]: { contentType: 'text/css; charset=utf-8', source: () => DASHBOARD_STYLE },
};

const ROLLOUT_PAGE = /^\/rollouts\/[^/]+\/?$/;
const ROLLOUT_DOCUMENT = /^\/dashboard\/api\/rollouts\/([^/]+)$/;

/** Decodes one path segment; undefined when its percent-encoding is malformed. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The live dashboard: the pages (`/`, `/rollouts/:id`, `/releases`), their static assets
 * (`/dashboard/assets/*`, Chart.js bundled, nothing from elsewhere) and the read-only JSON
 * the pages poll (`/dashboard/api/*`, behind the read permission). Every answer carries
 * the Content-Security-Policy and the other security headers.
 */
export class Dashboard {
  private readonly access: ReadAccess;
  private readonly assets = new Map<string, Asset>();
  private readonly documents = new Map<string, CachedDocument>();
  private readonly verdicts = new VerdictCache();
  private shell: Buffer | undefined;

  constructor(
    private readonly config: DashboardConfig,
    private readonly context: DashboardContext,
  ) {
    this.access = new ReadAccess(
      [config.readToken, context.apiToken],
      config.readToken === undefined && context.loopback,
    );
  }

  /** True when the path belongs to the dashboard. */
  matches(path: string): boolean {
    return (
      path === '/' ||
      path === '/releases' ||
      path === '/releases/' ||
      ROLLOUT_PAGE.test(path) ||
      path.startsWith('/dashboard/')
    );
  }

  /** Answers one dashboard request. Never throws. */
  async handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    // Nothing the dashboard serves reads a body.
    request.resume();
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      this.json(response, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET' } }, { allow: 'GET, HEAD' });
      return;
    }
    try {
      if (path.startsWith(DASHBOARD_API_PREFIX)) await this.document(request, response, path);
      else if (path.startsWith('/dashboard/')) this.asset(request, response, path);
      else this.page(response);
    } catch (error) {
      diag.error('agent-canary dashboard: request failed', error);
      if (!response.headersSent) this.json(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else response.destroy();
    }
  }

  private page(response: ServerResponse): void {
    this.shell ??= Buffer.from(
      dashboardShell({ pollIntervalMillis: this.config.pollIntervalMillis, actions: this.context.actions }),
    );
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': this.shell.byteLength,
      'cache-control': 'no-store',
      ...DASHBOARD_SECURITY_HEADERS,
    });
    response.end(this.shell);
  }

  private asset(request: IncomingMessage, response: ServerResponse, path: string): void {
    const asset = this.assetAt(path);
    if (asset === undefined) {
      this.json(response, 404, { error: { code: 'NOT_FOUND', message: `no dashboard asset ${path}` } });
      return;
    }
    const headers = { etag: asset.etag, 'cache-control': 'no-cache', ...DASHBOARD_SECURITY_HEADERS };
    if (request.headers['if-none-match'] === asset.etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    sendBytes(response, 200, asset.contentType, asset.body, headers);
  }

  private assetAt(path: string): Asset | undefined {
    const cached = this.assets.get(path);
    if (cached !== undefined) return cached;
    const source = ASSET_SOURCES[path];
    if (source === undefined) return undefined;
    const body = Buffer.from(source.source());
    const asset = { contentType: source.contentType, body, etag: etagOf(body) };
    this.assets.set(path, asset);
    return asset;
  }

  private async document(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const allowed = this.access.check(request.headers);
    if (!allowed.ok) {
      this.json(
        response,
        401,
        { error: { code: 'UNAUTHORIZED', message: allowed.message } },
        { 'www-authenticate': 'Bearer realm="agent-canary dashboard"' },
      );
      return;
    }
    const store = this.config.store;
    const now = this.config.clock();
    if (path === `${DASHBOARD_API_PREFIX}rollouts`) {
      this.fresh(request, response, Buffer.from(JSON.stringify(rolloutListDocument(store, now))));
      return;
    }
    if (path === `${DASHBOARD_API_PREFIX}releases`) {
      this.fresh(request, response, Buffer.from(JSON.stringify(releasesDocument(store, now))));
      return;
    }
    const match = ROLLOUT_DOCUMENT.exec(path);
    if (match?.[1] !== undefined) {
      const id = decodeSegment(match[1]);
      if (id === undefined) {
        this.json(response, 400, {
          error: { code: 'BAD_REQUEST', message: 'the rollout id is not valid percent-encoding' },
        });
        return;
      }
      const document = await this.rolloutDocument(id, now);
      if (document === undefined) {
        this.json(response, 404, { error: { code: 'NOT_FOUND', message: `no rollout ${id}` } });
        return;
      }
      this.fresh(request, response, document.body, document.etag);
      return;
    }
    this.json(response, 404, { error: { code: 'NOT_FOUND', message: `no dashboard document ${path}` } });
  }

  /** A rollout's document, built again only when its version changed (a long rollout's takes a while). */
  private async rolloutDocument(id: string, now: number): Promise<CachedDocument | undefined> {
    const store = this.config.store;
    const version = rolloutVersion(store, id, now);
    if (version === undefined) return undefined;
    const cached = this.documents.get(id);
    if (cached?.version === version) return cached;
    const document = await rolloutDocument(store, id, now, this.config.metricSource, this.verdicts);
    if (document === undefined) return undefined;
    const body = Buffer.from(JSON.stringify(document));
    const built = { version, body, etag: etagOf(body) };
    this.documents.delete(id);
    this.documents.set(id, built);
    if (this.documents.size > CACHED_DOCUMENTS) {
      const oldest = this.documents.keys().next().value;
      if (oldest !== undefined) this.documents.delete(oldest);
    }
    return built;
  }

  /** A JSON document, or 304 when the page already has it (its `If-None-Match`). */
  private fresh(request: IncomingMessage, response: ServerResponse, body: Buffer, etag: string = etagOf(body)): void {
    // no-store: the data stays out of disk caches; the page sends its version itself.
    const headers = { etag, 'cache-control': 'no-store', ...DASHBOARD_SECURITY_HEADERS };
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    sendBytes(response, 200, 'application/json', body, headers);
  }

  private json(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    sendJson(response, status, body, { 'cache-control': 'no-store', ...DASHBOARD_SECURITY_HEADERS, ...headers });
  }
}
