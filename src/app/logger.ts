import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DrizzleQueryError } from 'drizzle-orm';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type LoggerOptions, stdSerializers } from 'pino';
import type { Config } from '../config/env.js';
import { maskCitizenIds } from '../shared/paths.js';

/**
 * pino settings shared by the processes and the tests. Requests are logged without query strings
 * (they may carry citizen ids) and without headers or bodies (the `req` serializer below). As a
 * safety net for code that logs a whole object by mistake, fields that hold credentials are
 * censored at the top level of a line and inside the objects such code would log: headers, a
 * body, the configuration.
 *
 * The paths are explicit, not wildcards (`*.password`): pino runs the bindings of every child
 * logger (Fastify makes one per request) through the wildcard paths. And none is inside `req` or
 * `err`, which every request's line carries: a path there is walked on every line and can never
 * match (their serializers keep no headers or bodies). What each choice costs per request is in
 * docs/performance.md ("Logging", under the structure change).
 */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'access_token',
  'refresh_token',
  'token',
  'secret',
  'document_url',
  'urlDocument',
  'UrlDocument',
  'JWT_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'AMQP_URL',
  'GOVCARPETA_API_KEY',
];
const CONTAINERS = ['', 'headers', 'body', 'config'];

export const redactPaths = CONTAINERS.flatMap((container) =>
  SECRET_FIELDS.map((field) => {
    const key = /^[A-Za-z_]\w*$/.test(field) ? field : `["${field}"]`;
    if (container === '') return key;
    return key.startsWith('[') ? `${container}${key}` : `${container}.${key}`;
  }),
);

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    serializers: {
      err: (err: Error) => stdSerializers.err(withoutQueryParams(err) as Error),
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: maskCitizenIds(req.url.split('?')[0] ?? ''),
        route: req.routeOptions?.url,
        remoteAddress: req.ip,
      }),
    },
  };
}

/**
 * A failed query's parameters are request data (citizen ids, names, a batch's rows): Drizzle puts
 * them in the error's message, its stack and a `params` field. An error is logged with its SQL
 * and its cause's message only; the error itself is left as it was.
 */
export function withoutQueryParams(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 5) return err;
  const cause = withoutQueryParams(err.cause, depth + 1);
  const query = err instanceof DrizzleQueryError;
  if (!query && cause === err.cause) return err;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err)) as Error, err);
  copy.message = err.message;
  copy.stack = err.stack;
  copy.cause = cause;
  if (query) {
    delete (copy as Partial<DrizzleQueryError>).params;
    copy.message = `Failed query: ${err.query}`;
    const frames = err.stack?.indexOf('\n    at ') ?? -1;
    copy.stack = `${err.name}: ${copy.message}${frames >= 0 ? err.stack?.slice(frames) : ''}`;
  }
  return copy;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's X-Request-Id when it is safe to log, else makes one. */
export function genReqId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** One log line per request, written when it completes, with its id under `request_id`. */
export class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request completed');
  }
}
