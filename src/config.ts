import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The whole environment the service reads, in one zod schema, parsed once at boot.
 * Every variable carries a description: the README's configuration table is generated from it
 * (`npm run docs:config`) and a test checks that the two agree.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

const url = (protocols: string[]) =>
  z.url({
    protocol: new RegExp(`^(${protocols.join('|')})$`),
    error: `must be a ${protocols.join(' or ')} URL`,
  });

export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('`production` refuses embedded defaults and weak secrets.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
  PORT: int(0, 65535).default(8000).describe('Port to listen on.'),
  LISTEN_SOCKETS: int(1, 256)
    .default(32)
    .describe(
      'Listening sockets on PORT (SO_REUSEPORT, Node ≥ 22.12): a busy process accepts one ' +
        'connection per socket per event-loop turn, so one socket leaves a burst of new ' +
        'connections waiting. On older Node, one.',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe('Folder for the embedded database (PGlite) when `DATABASE_URL` is unset.'),
  DATABASE_URL: url(['postgres', 'postgresql'])
    .optional()
    .describe('PostgreSQL URL. Unset: embedded PGlite under `DATA_DIR`.'),
  DATABASE_POOL_MAX: int(1, 200).default(10).describe('Connections in the Postgres pool.'),
  MIGRATE_ON_START: bool
    .optional()
    .describe('Apply migrations at start. Default: `true` in embedded mode, else `false`.'),
  REDIS_URL: url(['redis', 'rediss'])
    .optional()
    .describe('Redis URL for the token denylist and rate limits. Unset: in-memory stores.'),
  REDIS_KEY_PREFIX: z
    .string()
    .default('ca:')
    .describe('Prefix of every Redis key this service writes.'),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000)
    .default(1000)
    .describe('A Redis command slower than this fails (protected routes then answer 503).'),
  JWT_SECRET: z
    .string()
    .optional()
    .describe('HS256 secret, at least 32 bytes. Unset outside production: random per process.'),
  JWT_ISSUER: z.string().min(1).default('citizen-affiliation').describe('`iss` claim.'),
  JWT_AUDIENCE: z.string().min(1).default('citizen-affiliation-api').describe('`aud` claim.'),
  ACCESS_TOKEN_TTL_SECONDS: int(30, 86_400).default(900).describe('Access token lifetime.'),
  REFRESH_TOKEN_TTL_SECONDS: int(60, 90 * 86_400)
    .default(7 * 86_400)
    .describe('Refresh token lifetime.'),
  LOGIN_MAX_FAILURES: int(1, 1000)
    .default(5)
    .describe('Failed logins allowed per client IP and username within the window.'),
  PASSWORD_HASH_CONCURRENCY: int(1, 64)
    .default(1)
    .describe(
      'Password hashes (scrypt, 32 MiB and ~100 ms of CPU each) computed at once; more logins wait. ' +
        'Up to the cores the process really has, more means more logins per second; beyond, only memory.',
    ),
  LOGIN_FAILURE_WINDOW_SECONDS: int(1, 86_400)
    .default(900)
    .describe('Window of the failed-login limit.'),
  RATE_LIMIT_MAX: int(0, 10_000_000)
    .default(600)
    .describe('Requests per client IP per window on `/api`. `0` turns the limit off.'),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60).describe('Window of the rate limit.'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .describe(
      'Trust X-Forwarded-For from: `false`, `true` (any peer) or a comma list of IPs/CIDRs.',
    ),
  CORS_ORIGINS: list
    .default([])
    .describe('Comma-separated origins allowed by CORS. Empty: no cross-origin access.'),
  BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024)
    .default(65_536)
    .describe('Largest request body accepted (413 above).'),
  REQUEST_TIMEOUT_MS: int(1000, 600_000)
    .default(30_000)
    .describe('Time a client has to send a whole request.'),
  SHUTDOWN_GRACE_MS: int(100, 120_000)
    .default(10_000)
    .describe('On SIGTERM/SIGINT: time allowed for in-flight work before exit.'),
  MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000)
    .default(1000)
    .describe('Answer 503 while the event loop lags more than this. `0` turns it off.'),
  MAX_HEAP_USED_BYTES: int(0, 64 * 1024 ** 3)
    .default(0)
    .describe('Answer 503 while the heap is larger than this. `0` turns it off.'),
  GOVCARPETA_URL: url(['http', 'https'])
    .optional()
    .describe(
      'GovCarpeta base URL (e.g. `https://govcarpeta-apis-4905ff3c005b.herokuapp.com`). Unset outside production: the built-in simulator.',
    ),
  GOVCARPETA_API_KEY: z
    .string()
    .optional()
    .describe('Sent as `Authorization: Bearer <key>` to GovCarpeta when set.'),
  HUB_TIMEOUT_MS: int(100, 60_000)
    .default(3000)
    .describe('Deadline of one hub call, retries included.'),
  HUB_RETRIES: int(0, 5)
    .default(2)
    .describe(
      'Extra attempts of the (idempotent) citizen lookup. Document calls are never retried.',
    ),
  HUB_RETRY_BASE_MS: int(1, 10_000)
    .default(100)
    .describe('Backoff before retry n: random in [0, base * 2^n).'),
  HUB_CONNECTIONS: int(1, 1024).default(64).describe('Keep-alive connections to the hub.'),
  HUB_BREAKER_ERROR_PERCENT: int(1, 100)
    .default(50)
    .describe('The breaker opens when this share of recent hub calls failed...'),
  HUB_BREAKER_MIN_CALLS: int(1, 10_000)
    .default(10)
    .describe('...and at least this many calls were made in the window.'),
  HUB_BREAKER_WINDOW_MS: int(1000, 600_000)
    .default(10_000)
    .describe('Window over which hub failures are counted.'),
  HUB_BREAKER_RESET_MS: int(100, 600_000)
    .default(10_000)
    .describe('Time the breaker stays open before one trial call (half-open).'),
  HUB_MAX_CONCURRENT: int(1, 100_000)
    .default(256)
    .describe('Hub calls in flight at most (bulkhead); more answer 503 at once.'),
  CHECK_CACHE_TTL_SECONDS: int(0, 86_400)
    .default(60)
    .describe(
      'Reuse a hub answer for a citizen this long (Redis when set, else memory). `0`: never.',
    ),
  AMQP_URL: url(['amqp', 'amqps'])
    .optional()
    .describe('RabbitMQ URL. Unset: no broker; events wait in the outbox.'),
  AMQP_EXCHANGE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'letters, digits and _ . : - only')
    .default('citizen_affiliation')
    .describe('Topic exchange of the events; queue names start with it too.'),
  OUTBOX_POLL_MS: int(50, 600_000)
    .default(1000)
    .describe(
      'Relay: how often to look for pending events it was not told about (e.g. rows of a replica that died before relaying them).',
    ),
  OUTBOX_BATCH_SIZE: int(1, 10_000)
    .default(2000)
    .describe(
      'Relay: most events claimed per batch. Under saturation one batch spans several long ' +
        'event-loop turns, so it must hold what arrives meanwhile, or the outbox falls behind.',
    ),
  OUTBOX_PUBLISH_TIMEOUT_MS: int(100, 600_000)
    .default(10_000)
    .describe('Relay: a broker confirm slower than this fails the batch (retried later).'),
  RETENTION_INTERVAL_SECONDS: int(0, 604_800)
    .default(3600)
    .describe(
      'How often the API deletes rows that have done their job (sent events, handled messages, ' +
        'expired idempotency keys and refresh tokens). `0`: never. Audit rows are never deleted.',
    ),
  OUTBOX_RETENTION_HOURS: int(1, 87_600)
    .default(168)
    .describe('Keep a sent event in the outbox this long after it was sent. Unsent: kept.'),
  INBOX_RETENTION_HOURS: int(1, 87_600)
    .default(168)
    .describe(
      'Keep the record of a handled request message this long; a redelivery within it is not handled twice.',
    ),
  WORKER_PORT: int(0, 65535)
    .default(8001)
    .describe('Worker: port of its `/health/*` and `/metrics`.'),
  WORKER_PREFETCH: int(1, 10_000)
    .default(16)
    .describe('Worker: unacknowledged messages held at once (also its concurrency).'),
  WORKER_RETRY_DELAYS_MS: list
    .default(['1000', '5000', '30000', '120000'])
    .describe(
      'Worker: delays between hub retries of one document; when used up, it completes as not authenticated.',
    ),
  BOOTSTRAP_ADMIN_USERNAME: z
    .string()
    .min(3)
    .default('admin')
    .describe('Embedded mode: admin created with a one-time password on the first start.'),
});

export type Env = z.infer<typeof envSchema>;

export type Config = Omit<
  Env,
  'JWT_SECRET' | 'MIGRATE_ON_START' | 'TRUST_PROXY' | 'WORKER_RETRY_DELAYS_MS'
> & {
  WORKER_RETRY_DELAYS_MS: number[];
  JWT_SECRET: string;
  /** True when the secret was generated for this process only. */
  jwtSecretGenerated: boolean;
  MIGRATE_ON_START: boolean;
  TRUST_PROXY: boolean | string[];
  /** No DATABASE_URL: PGlite in process. */
  embeddedDatabase: boolean;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const MIN_SECRET_BYTES = 32;

function parseTrustProxy(value: string): boolean | string[] | undefined {
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  const cidrs = v.split(',').map((s) => s.trim());
  return cidrs.every((c) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(c)) ? cidrs : undefined;
}

/**
 * Parses the variables a schema knows, treating empty strings as unset (as most deployment
 * tools write them). Throws a ConfigError naming every bad variable.
 */
export function parseEnv<T extends z.ZodObject>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const known = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k in schema.shape && v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/**
 * Parses the environment once. Throws a ConfigError naming every bad variable. The worker signs
 * no tokens and keeps no shared keys, so production does not ask it for JWT_SECRET or REDIS_URL.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  role: 'api' | 'worker' = 'api',
): Config {
  const e = parseEnv(envSchema, env);
  const problems: string[] = [];
  const production = e.NODE_ENV === 'production';

  const trustProxy = parseTrustProxy(e.TRUST_PROXY);
  if (trustProxy === undefined) {
    problems.push('TRUST_PROXY: must be true, false or a comma list of IPs/CIDRs');
  }
  if (e.JWT_SECRET !== undefined && Buffer.byteLength(e.JWT_SECRET) < MIN_SECRET_BYTES) {
    problems.push(`JWT_SECRET: must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (production) {
    const api = role === 'api';
    if (api && e.JWT_SECRET === undefined) problems.push('JWT_SECRET: required in production');
    if (e.DATABASE_URL === undefined) {
      problems.push('DATABASE_URL: required in production (the embedded database is for dev)');
    }
    if (api && e.REDIS_URL === undefined) {
      problems.push('REDIS_URL: required in production (in-memory stores are per process)');
    }
    if (e.GOVCARPETA_URL === undefined) {
      problems.push('GOVCARPETA_URL: required in production (the simulator is a development tool)');
    }
    if (e.AMQP_URL === undefined) {
      problems.push('AMQP_URL: required in production (events would never leave the outbox)');
    }
  }
  if (role === 'worker' && e.AMQP_URL === undefined) {
    problems.push('AMQP_URL: the worker needs it (it consumes from RabbitMQ)');
  }
  const retryDelays = e.WORKER_RETRY_DELAYS_MS.map(Number);
  if (retryDelays.some((d) => !Number.isInteger(d) || d < 1 || d > 86_400_000)) {
    problems.push('WORKER_RETRY_DELAYS_MS: must be a comma list of milliseconds (1..86400000)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const embeddedDatabase = e.DATABASE_URL === undefined;
  return {
    ...e,
    JWT_SECRET: e.JWT_SECRET ?? randomBytes(48).toString('base64url'),
    jwtSecretGenerated: e.JWT_SECRET === undefined,
    MIGRATE_ON_START: e.MIGRATE_ON_START ?? embeddedDatabase,
    TRUST_PROXY: trustProxy ?? false,
    WORKER_RETRY_DELAYS_MS: retryDelays,
    embeddedDatabase,
  };
}
