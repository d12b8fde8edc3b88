import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { HubError } from '../src/hub/client.js';
import {
  AppError,
  asDependencyError,
  type FieldError,
  PROBLEMS,
  type ProblemCode,
  problemType,
  serviceUnavailable,
  upstreamUnavailable,
} from '../src/shared/errors.js';

/** The RFC 9457 body every error leaves the service as (routes document it with this schema). */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    request_id: z.string(),
    instance: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .describe('Problem details (application/problem+json)');
export type Problem = z.infer<typeof problemSchema>;

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
};

const BY_STATUS: Record<number, ProblemCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

const clip = (s: string, max = 200) => (s.length > max ? `${s.slice(0, max)}…` : s);

function fieldErrors(error: FastifyError): FieldError[] {
  const context = error.validationContext ?? 'request';
  return (error.validation ?? []).flatMap((issue) => {
    const path = issue.instancePath
      .split('/')
      .filter(Boolean)
      .map((s) => clip(s));
    const keys = (issue.params as { keys?: unknown }).keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      return keys.map((key) => ({
        field: [context, ...path, clip(String(key))].join('.'),
        message: 'Unknown field',
      }));
    }
    return [{ field: [context, ...path].join('.'), message: clip(issue.message ?? 'Invalid') }];
  });
}

function toAppError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error) || error.validation) {
    const errors = fieldErrors(error);
    return new AppError('VALIDATION_ERROR', `${errors.length} field(s) failed validation`, {
      errors,
    });
  }
  // Hub failures are normally audited and mapped by the use case; this is the safety net that keeps
  // a hub socket error from being reported as a database outage below.
  if (error instanceof HubError) {
    return upstreamUnavailable(
      'GovCarpeta could not answer; retry shortly',
      error.retryAfterSeconds,
      error,
    );
  }
  const dependency = asDependencyError(error);
  if (dependency) {
    return serviceUnavailable(
      `A dependency of the service (${dependency.dependency}) is unavailable; retry shortly`,
      5,
      error,
    );
  }
  const status = error.statusCode ?? 500;
  if (status < 500) {
    const code = FASTIFY_CODES[error.code] ?? BY_STATUS[status] ?? 'BAD_REQUEST';
    // 4xx messages from Fastify and its plugins describe the client's mistake; keep them short.
    return new AppError(code, clip(error.message || PROBLEMS[code].title), { cause: error });
  }
  if (status === 503) {
    return new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable', {
      cause: error,
    });
  }
  return new AppError('INTERNAL_ERROR', 'An unexpected error occurred; it has been logged', {
    cause: error,
  });
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  const body: Problem = {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: String(request.id),
    instance: request.url.split('?')[0] ?? '/',
    ...(error.extra.errors ? { errors: error.extra.errors } : {}),
  };
  return reply
    .code(error.status)
    .headers(error.extra.headers ?? {})
    .type('application/problem+json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(body);
}

/** One error handler: every failure becomes problem details with a stable code. */
export default fp(
  async (app) => {
    const rateLimited = new Counter({
      name: 'http_rate_limited_total',
      help: 'Requests refused with 429 by a rate limit, by route.',
      labelNames: ['route'],
      registers: [app.registry],
    });
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toAppError(error);
      if (problem.status >= 500) {
        const cause = problem === (error as unknown) ? error.cause : error;
        request.log[problem.code === 'INTERNAL_ERROR' ? 'error' : 'warn'](
          { err: cause ?? error, code: problem.code },
          problem.detail,
        );
      } else if (problem.code === 'RATE_LIMITED') {
        rateLimited.inc({ route: request.routeOptions.url ?? 'unknown' });
      }
      return sendProblem(request, reply, problem);
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(
        request,
        reply,
        new AppError(
          'NOT_FOUND',
          `No route for ${request.method} ${clip(request.url.split('?')[0] ?? '')}`,
        ),
      ),
    );
  },
  { name: 'errors', dependencies: ['metrics'] },
);
