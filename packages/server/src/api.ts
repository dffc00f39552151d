import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ActionInput,
  CONTROLLER_ERROR_CODE,
  MANUAL_ACTION,
  type ManualAction,
  type RolloutController,
  type RolloutRecord,
  type RolloutStatus,
  type RolloutStore,
  rolloutStatusOf,
} from '@agent-canary/controller';
import { diag } from '@opentelemetry/api';
import { BearerToken } from './auth.js';
import { decodePathSegment, mediaType, type RequestTarget, readBody, sendJson } from './http.js';
import type { Route } from './router.js';

/** Manual actions of `POST /v1/rollouts/:id/:action`: the controller's {@link MANUAL_ACTION}. */
export const API_ACTION = MANUAL_ACTION;
/** A manual action of the API. */
export type ApiAction = ManualAction;

/**
 * The answer to a manual action: the controller's `ActionResult`, or a refusal with a
 * code and a message (which the API and the dashboard show as they are).
 */
export type ManualActionAnswer =
  | { readonly ok: true; readonly status: RolloutStatus }
  | {
      readonly ok: false;
      readonly error: { readonly code: string; readonly message: string };
      readonly status?: RolloutStatus;
    };

/**
 * Applies manual actions to rollouts that the server's own controller does not drive (the
 * `agent-canary dashboard` command over a store written by another process). Resolves to
 * undefined when the store has no such rollout.
 */
export type ManualActionHandler = (
  rolloutId: string,
  action: ApiAction,
  input: ActionInput,
) => Promise<ManualActionAnswer | undefined>;

/** Error codes of API answers (besides the controller's own `AGENT_CANARY_*` codes). */
export const API_ERROR_CODE = {
  unauthorized: 'UNAUTHORIZED',
  notFound: 'NOT_FOUND',
  badRequest: 'BAD_REQUEST',
  notDriven: 'ROLLOUT_NOT_DRIVEN_HERE',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
  internal: 'INTERNAL',
} as const;

const ACTIONS: ReadonlySet<string> = new Set(Object.values(API_ACTION));
const MAX_API_BODY_BYTES = 64 * 1024;
const MAX_VERDICTS = 1000;
const ROUTE = /^\/v1\/rollouts(?:\/([^/]+)(?:\/([a-z]+))?)?\/?$/;

/**
 * The controller's HTTP API: rollout status, verdict history with evidence, and manual
 * actions, behind a bearer token compared in constant time. Actions on the rollout the
 * controller drives go to it; actions on other rollouts go to `actions` when given.
 */
export class ControllerApi {
  private readonly token: BearerToken;

  constructor(
    token: string,
    private readonly controller: RolloutController | undefined,
    private readonly store: RolloutStore | undefined,
    private readonly actions?: ManualActionHandler,
  ) {
    this.token = new BearerToken(token);
  }

  /** True when the API can act on rollouts (a controller or an action handler). */
  get acts(): boolean {
    return this.controller !== undefined || this.actions !== undefined;
  }

  /** True when the path belongs to this API. */
  matches(path: string): boolean {
    return ROUTE.test(path);
  }

  /** This API as an entry of the server's routing table. */
  route(): Route {
    return {
      matches: (path) => this.matches(path),
      handle: (request, response, target) => this.handle(request, response, target),
    };
  }

  /** Answers one request under `/v1/rollouts`. Never throws. */
  async handle(request: IncomingMessage, response: ServerResponse, target: RequestTarget): Promise<void> {
    if (!this.token.matches(request.headers.authorization)) {
      request.resume();
      sendJson(
        response,
        401,
        { error: { code: API_ERROR_CODE.unauthorized, message: 'a valid bearer token is required' } },
        { 'www-authenticate': 'Bearer realm="agent-canary"' },
      );
      return;
    }
    try {
      await this.answer(request, response, target.path, target.query);
    } catch (error) {
      diag.error('agent-canary API: request failed', error);
      if (!response.headersSent) {
        sendJson(response, 500, { error: { code: API_ERROR_CODE.internal, message: 'internal error' } });
      }
    }
  }

  private async answer(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const [, rawId, action] = ROUTE.exec(path) ?? [];
    const id = rawId === undefined ? undefined : decodePathSegment(rawId);
    if (rawId !== undefined && id === undefined) {
      request.resume();
      sendJson(response, 400, {
        error: { code: API_ERROR_CODE.badRequest, message: 'the rollout id is not valid percent-encoding' },
      });
      return;
    }
    const method = request.method ?? 'GET';
    if (id === undefined) {
      if (method !== 'GET') return this.methodNotAllowed(request, response, 'GET');
      sendJson(response, 200, { rollouts: this.listRollouts() });
      return;
    }
    if (action === undefined) {
      if (method !== 'GET') return this.methodNotAllowed(request, response, 'GET');
      const status = this.statusOf(id);
      if (status === undefined) return this.notFound(response, id);
      sendJson(response, 200, status);
      return;
    }
    if (action === 'verdicts') {
      if (method !== 'GET') return this.methodNotAllowed(request, response, 'GET');
      if (this.statusOf(id) === undefined) return this.notFound(response, id);
      const limit = parseLimit(query.get('limit'));
      if (limit === undefined) {
        sendJson(response, 400, {
          error: { code: API_ERROR_CODE.badRequest, message: `limit must be an integer in 1..${MAX_VERDICTS}` },
        });
        return;
      }
      sendJson(response, 200, { rolloutId: id, verdicts: this.store?.verdicts(id, limit) ?? [] });
      return;
    }
    if (!ACTIONS.has(action)) {
      request.resume();
      sendJson(response, 404, { error: { code: API_ERROR_CODE.notFound, message: `no action ${action}` } });
      return;
    }
    if (method !== 'POST') return this.methodNotAllowed(request, response, 'POST');
    await this.act(request, response, id, action as ApiAction);
  }

  private async act(request: IncomingMessage, response: ServerResponse, id: string, action: ApiAction): Promise<void> {
    const input = await readActionInput(request);
    if (!input.ok) {
      sendJson(response, 400, { error: { code: API_ERROR_CODE.badRequest, message: input.message } });
      return;
    }
    const controller = this.controller;
    let answer: ManualActionAnswer | undefined;
    if (controller !== undefined && currentRolloutId(controller) === id) answer = await controller[action](input.value);
    else if (this.actions !== undefined) {
      answer = await this.actions(id, action, input.value);
      if (answer === undefined) return this.notFound(response, id);
    } else {
      const known = this.statusOf(id) !== undefined;
      sendJson(response, known ? 409 : 404, {
        error: {
          code: known ? API_ERROR_CODE.notDriven : API_ERROR_CODE.notFound,
          message: known ? `rollout ${id} is not the one this server's controller drives` : `no rollout ${id}`,
        },
      });
      return;
    }
    if (answer.ok) {
      sendJson(response, 200, { ok: true, status: answer.status });
      return;
    }
    sendJson(response, 409, {
      ok: false,
      error: { code: answer.error.code, message: answer.error.message },
      ...(answer.status === undefined ? {} : { status: answer.status }),
    });
  }

  private listRollouts(): RolloutStatus[] {
    if (this.store !== undefined) return this.store.listRollouts().map((record) => this.statusOfRecord(record));
    const controller = this.controller;
    if (controller === undefined || currentRolloutId(controller) === undefined) return [];
    return [controller.status()];
  }

  private statusOf(id: string): RolloutStatus | undefined {
    const controller = this.controller;
    if (controller !== undefined && currentRolloutId(controller) === id) return controller.status();
    const record = this.store?.getRollout(id);
    return record === undefined ? undefined : this.statusOfRecord(record);
  }

  /** The controller's `status()` shape for any stored rollout (not only the one it drives). */
  private statusOfRecord(record: RolloutRecord): RolloutStatus {
    const controller = this.controller;
    if (controller !== undefined && currentRolloutId(controller) === record.id) return controller.status();
    return rolloutStatusOf(record);
  }

  private notFound(response: ServerResponse, id: string): void {
    sendJson(response, 404, { error: { code: API_ERROR_CODE.notFound, message: `no rollout ${id}` } });
  }

  private methodNotAllowed(request: IncomingMessage, response: ServerResponse, allow: string): void {
    request.resume();
    sendJson(response, 405, { error: { code: API_ERROR_CODE.methodNotAllowed, message: `use ${allow}` } }, { allow });
  }
}

function currentRolloutId(controller: RolloutController): string | undefined {
  try {
    return controller.status().rolloutId;
  } catch (error) {
    if ((error as { code?: string }).code === CONTROLLER_ERROR_CODE.rolloutNotFound) return undefined;
    throw error;
  }
}

function parseLimit(raw: string | null): number | undefined {
  if (raw === null) return 100;
  const limit = Number(raw);
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_VERDICTS ? limit : undefined;
}

type ActionInputResult =
  | { readonly ok: true; readonly value: { readonly actor: string; readonly reason: string } }
  | { readonly ok: false; readonly message: string };

async function readActionInput(request: IncomingMessage): Promise<ActionInputResult> {
  if (mediaType(request.headers['content-type']) !== 'application/json') {
    request.resume();
    return {
      ok: false,
      message: 'send a JSON body {"actor": "...", "reason": "..."} with content-type application/json',
    };
  }
  const read = await readBody(request, MAX_API_BODY_BYTES);
  if (!read.ok) return { ok: false, message: `the body must be JSON under ${MAX_API_BODY_BYTES} bytes` };
  let body: unknown;
  try {
    body = JSON.parse(read.body.toString('utf8'));
  } catch {
    return { ok: false, message: 'the body is not JSON' };
  }
  const { actor, reason } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof actor !== 'string' || actor.trim() === '') {
    return { ok: false, message: 'actor (who acts, for the audit log) must be a non-empty string' };
  }
  if (typeof reason !== 'string' || reason.trim() === '') {
    return { ok: false, message: 'reason (why, for the audit log) must be a non-empty string' };
  }
  return { ok: true, value: { actor: actor.trim(), reason: reason.trim() } };
}
