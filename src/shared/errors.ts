/**
 * Typed errors with stable, machine-readable codes. The error handler plugin turns each into an
 * RFC 9457 problem details body; nothing else decides what a client sees on failure.
 */

export const PROBLEMS = {
  VALIDATION_ERROR: { status: 400, title: 'Request validation failed' },
  BAD_REQUEST: { status: 400, title: 'Malformed request' },
  UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  TOKEN_EXPIRED: { status: 401, title: 'Access token expired' },
  TOKEN_REVOKED: { status: 401, title: 'Access token revoked' },
  FORBIDDEN: { status: 403, title: 'Not allowed for your role' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  IDEMPOTENCY_CONFLICT: { status: 409, title: 'Idempotency key reused with another request' },
  USER_EXISTS: { status: 409, title: 'A user with this name exists' },
  ALREADY_REGISTERED: { status: 409, title: 'The citizen is registered with an operator' },
  CONFLICT: { status: 409, title: 'The request conflicts with what the hub has' },
  TRANSFER_IN_PROGRESS: { status: 409, title: 'The citizen has a transfer in progress' },
  CITIZEN_IS_OURS: { status: 409, title: 'The citizen is registered with this operator' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  UNKNOWN_OPERATOR: { status: 422, title: 'No such operator can receive transfers' },
  PEER_URL_REFUSED: { status: 422, title: "The peer's URL is not one this service calls" },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'Upstream service unavailable' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service temporarily unavailable' },
  NOT_CONFIGURED: { status: 503, title: 'This feature is not configured' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

export interface FieldError {
  field: string;
  message: string;
}

export function problemType(code: ProblemCode): string {
  return `urn:citizen-affiliation:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extra: {
      headers?: Record<string, string>;
      errors?: FieldError[];
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: extra.cause });
    this.name = 'AppError';
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }
}

const BEARER_CHALLENGE = 'Bearer realm="citizen-affiliation"';

/** 401 with the RFC 6750 challenge clients expect. */
export function unauthorized(
  code: 'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED',
  detail: string,
): AppError {
  const challenge =
    code === 'UNAUTHORIZED' && detail.startsWith('Missing')
      ? BEARER_CHALLENGE
      : `${BEARER_CHALLENGE}, error="invalid_token"`;
  return new AppError(code, detail, { headers: { 'www-authenticate': challenge } });
}

export function rateLimited(retryAfterSeconds: number, detail: string): AppError {
  return new AppError('RATE_LIMITED', detail, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
}

export function serviceUnavailable(
  detail: string,
  retryAfterSeconds = 5,
  cause?: unknown,
): AppError {
  return new AppError('SERVICE_UNAVAILABLE', detail, {
    headers: { 'retry-after': String(retryAfterSeconds) },
    cause,
  });
}

/** The hub could not decide (error, timeout, open breaker): 503, never a decision. */
export function upstreamUnavailable(
  detail: string,
  retryAfterSeconds: number,
  cause?: unknown,
): AppError {
  return new AppError('UPSTREAM_UNAVAILABLE', detail, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    cause,
  });
}

/** A dependency of ours (not the client, not the hub) could not answer: 503, retry later. */
export class DependencyError extends Error {
  constructor(
    readonly dependency: 'postgres' | 'redis',
    cause: unknown,
  ) {
    super(`${dependency} is unavailable`, { cause });
    this.name = 'DependencyError';
  }
}

// postgres.js connection failures, and the socket errors under them.
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
]);

/** An error and its causes, outermost first, at most five deep. */
export function* causeChain(error: unknown): Generator<Error & { code?: unknown }> {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) yield e;
}

/** Finds, along an error's cause chain, a sign that a dependency was unreachable. */
export function asDependencyError(error: unknown): DependencyError | undefined {
  for (const e of causeChain(error)) {
    if (e instanceof DependencyError) return e;
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) {
      return new DependencyError('postgres', error);
    }
  }
  return undefined;
}
