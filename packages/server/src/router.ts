import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRequestTarget, type RequestTarget, sendJson } from './http.js';

/** Answers one request; what it throws becomes a 500 (a bug, never bad input). */
export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  target: RequestTarget,
) => void | Promise<void>;

/** One entry of the server's routing table. */
export interface Route {
  /** True when this route answers the path (as sent, still percent-encoded). */
  matches(path: string): boolean;
  /** Answers the request, whatever its method. */
  readonly handle: RouteHandler;
}

/** Error codes of the answers the router itself gives. */
export const ROUTER_ERROR_CODE = {
  badRequest: 'BAD_REQUEST',
  notFound: 'NOT_FOUND',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
} as const;

/** Sends the router's error shape, `{ error: { code, message } }`, after discarding the body. */
export function sendError(
  request: IncomingMessage,
  response: ServerResponse,
  statusCode: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  request.resume();
  sendJson(response, statusCode, { error: { code, message } }, headers);
}

/**
 * A route at one exact path with one handler per method (`GET` also answers `HEAD`);
 * other methods get 405 with `Allow`, from `methodNotAllowed` when given.
 *
 * @example
 * exactRoute('/healthz', { GET: (request, response) => sendJson(response, 200, { status: 'ok' }) })
 */
export function exactRoute(
  path: string,
  handlers: Readonly<Partial<Record<string, RouteHandler>>>,
  methodNotAllowed?: (request: IncomingMessage, response: ServerResponse, allow: string) => void,
): Route {
  const allow = Object.keys(handlers).join(', ');
  return {
    matches: (candidate) => candidate === path,
    handle(request, response, target) {
      const method = request.method ?? 'GET';
      const handler = handlers[method] ?? (method === 'HEAD' ? handlers['GET'] : undefined);
      if (handler !== undefined) return handler(request, response, target);
      if (methodNotAllowed !== undefined) return methodNotAllowed(request, response, allow);
      sendError(request, response, 405, ROUTER_ERROR_CODE.methodNotAllowed, `use ${allow}`, { allow });
    },
  };
}

/**
 * The server's routing table: the first route whose `matches` accepts the path answers.
 * A request target that is not a valid URL gets 400, a path no route takes 404. New
 * endpoints are one more entry in the table given to the constructor.
 */
export class Router {
  constructor(private readonly routes: readonly Route[]) {}

  /** Answers one request; rejects only when a route handler throws. */
  async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseRequestTarget(request.url);
    if (target === undefined) {
      sendError(request, response, 400, ROUTER_ERROR_CODE.badRequest, 'the request target is not a valid URL', {
        connection: 'close',
      });
      return;
    }
    const route = this.routes.find((candidate) => candidate.matches(target.path));
    if (route === undefined) {
      sendError(
        request,
        response,
        404,
        ROUTER_ERROR_CODE.notFound,
        `no route ${request.method} ${target.path.slice(0, 200)}`,
      );
      return;
    }
    await route.handle(request, response, target);
  }
}
