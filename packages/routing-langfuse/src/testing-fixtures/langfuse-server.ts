/**
 * A local stand-in for the Langfuse public API, implementing only the documented
 * endpoints the adapter and the read side use, and checking their contract: Basic auth
 * with the project's key pair, JSON bodies, label uniqueness per prompt (setting a label
 * on a version removes it from the others, as Langfuse does), categorical scores.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One prompt version as stored. */
export interface StoredPromptVersion {
  readonly version: number;
  readonly prompt: string;
  /** The prompt's `config` (model, parameters, ...). @default {} */
  readonly config?: Record<string, unknown>;
  labels: string[];
}

/** A request the server received (for assertions). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorized: boolean;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/** A running contract server. */
export interface LangfuseContractServer {
  readonly baseUrl: string;
  readonly publicKey: string;
  readonly secretKey: string;
  readonly requests: RecordedRequest[];
  /** Scores received through `POST /api/public/scores` or the ingestion batch. */
  readonly scores: Record<string, unknown>[];
  /** Adds a version (1, 2, ...) with the given labels (moving them off other versions) and `config`. */
  addVersion(name: string, prompt: string, labels?: readonly string[], config?: Record<string, unknown>): number;
  /** Label -> version of a prompt, as stored. */
  labels(name: string): Record<string, number>;
  /** The next `count` requests answer `status` (e.g. 503) without doing anything. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startLangfuseContractServer(
  keys: { publicKey?: string; secretKey?: string } = {},
): Promise<LangfuseContractServer> {
  const publicKey = keys.publicKey ?? 'pk-lf-test';
  const secretKey = keys.secretKey ?? 'sk-lf-test';
  const expectedAuth = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  const prompts = new Map<string, StoredPromptVersion[]>();
  const requests: RecordedRequest[] = [];
  const scores: Record<string, unknown>[] = [];
  let failures = 0;
  let failureStatus = 503;

  const setLabels = (name: string, target: StoredPromptVersion, newLabels: readonly string[]) => {
    for (const other of prompts.get(name) ?? []) {
      if (other !== target) other.labels = other.labels.filter((label) => !newLabels.includes(label));
    }
    target.labels = [...new Set([...target.labels, ...newLabels])];
  };

  const promptJson = (name: string, v: StoredPromptVersion) => ({
    id: `${name}-${v.version}`,
    name,
    version: v.version,
    type: 'text',
    prompt: v.prompt,
    config: v.config ?? {},
    labels: v.labels,
    tags: [],
    commitMessage: null,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      return send(res, 400, { message: 'body is not JSON' });
    }
    const authorized = req.headers.authorization === expectedAuth;
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorized,
      contentType,
      body,
    });
    if (failures > 0) {
      failures--;
      return send(res, failureStatus, { message: 'simulated outage' });
    }
    if (!authorized)
      return send(res, 401, { message: 'Invalid credentials. Confirm that you have used the correct host.' });
    if (raw !== '' && !contentType?.startsWith('application/json')) return send(res, 415, { message: 'expected JSON' });

    const path = url.pathname;
    let match = /^\/api\/public\/v2\/prompts\/([^/]+)$/.exec(path);
    if (match && req.method === 'GET') {
      const name = decodeURIComponent(match[1] ?? '');
      const versions = prompts.get(name);
      const versionParam = url.searchParams.get('version');
      const label = url.searchParams.get('label') ?? (versionParam === null ? 'production' : null);
      const found = versions?.find((v) =>
        versionParam !== null ? v.version === Number(versionParam) : v.labels.includes(label ?? ''),
      );
      if (found === undefined) return send(res, 404, { message: `Prompt not found: '${name}' with label '${label}'` });
      return send(res, 200, promptJson(name, found));
    }
    match = /^\/api\/public\/v2\/prompts\/([^/]+)\/versions\/(\d+)$/.exec(path);
    if (match && req.method === 'PATCH') {
      const name = decodeURIComponent(match[1] ?? '');
      const version = prompts.get(name)?.find((v) => v.version === Number(match?.[2]));
      if (version === undefined) return send(res, 404, { message: `Prompt not found: ${name}` });
      const newLabels = (body as { newLabels?: unknown } | undefined)?.newLabels;
      if (!Array.isArray(newLabels) || !newLabels.every((l) => typeof l === 'string') || newLabels.includes('latest')) {
        return send(res, 400, { message: 'newLabels must be an array of strings without "latest"' });
      }
      setLabels(name, version, newLabels as string[]);
      return send(res, 200, promptJson(name, version));
    }
    if (path === '/api/public/v2/prompts' && req.method === 'GET') {
      const name = url.searchParams.get('name');
      const data = [...prompts.entries()]
        .filter(([n]) => name === null || n === name)
        .map(([n, versions]) => ({
          name: n,
          type: 'text',
          versions: versions.map((v) => v.version),
          labels: [...new Set(versions.flatMap((v) => v.labels))],
          tags: [],
          lastUpdatedAt: new Date(0).toISOString(),
        }));
      return send(res, 200, { data, meta: { page: 1, limit: 50, totalItems: data.length, totalPages: 1 } });
    }
    if (path === '/api/public/scores' && req.method === 'POST') {
      const score = body as Record<string, unknown> | undefined;
      const problem = scoreProblem(score);
      if (problem !== undefined) return send(res, 400, { message: problem });
      const id = typeof score?.['id'] === 'string' ? score['id'] : `score-${scores.length + 1}`;
      scores.push({ ...score, id });
      return send(res, 200, { id });
    }
    if (path === '/api/public/ingestion' && req.method === 'POST') {
      const batch =
        (body as { batch?: { id: string; type: string; body: Record<string, unknown> }[] } | undefined)?.batch ?? [];
      const successes: { id: string; status: number }[] = [];
      const errors: { id: string; status: number; message: string }[] = [];
      for (const event of batch) {
        const problem = event.type === 'score-create' ? scoreProblem(event.body) : `unsupported event ${event.type}`;
        if (problem === undefined) {
          scores.push(event.body);
          successes.push({ id: event.id, status: 201 });
        } else errors.push({ id: event.id, status: 400, message: problem });
      }
      return send(res, 207, { successes, errors });
    }
    return send(res, 404, { message: `no route ${req.method} ${path}` });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    publicKey,
    secretKey,
    requests,
    scores,
    addVersion(name, prompt, labels = [], config = {}) {
      const versions = prompts.get(name) ?? [];
      prompts.set(name, versions);
      const stored: StoredPromptVersion = { version: versions.length + 1, prompt, config, labels: [] };
      versions.push(stored);
      setLabels(name, stored, [...labels, 'latest']);
      return stored.version;
    },
    labels(name) {
      return Object.fromEntries((prompts.get(name) ?? []).flatMap((v) => v.labels.map((label) => [label, v.version])));
    },
    failNext(count, status) {
      failures = count;
      failureStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function scoreProblem(score: Record<string, unknown> | undefined): string | undefined {
  if (score === undefined || typeof score['name'] !== 'string') return 'score needs a name';
  if (typeof score['traceId'] !== 'string' && typeof score['sessionId'] !== 'string')
    return 'score needs a traceId or sessionId';
  const value = score['value'];
  if (score['dataType'] === 'CATEGORICAL' && typeof value !== 'string')
    return 'a categorical score value must be a string';
  if (typeof value !== 'string' && typeof value !== 'number') return 'score value must be a number or string';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
