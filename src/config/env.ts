import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseRoleMap, type RoleMap } from '../auth/role-map.js';
import { LOCAL_OPERATOR } from '../hub/simulator.js';

/**
 * What an operator sets: the environment the service reads, in one zod schema, parsed once at
 * boot. Every variable is set by a deployment file (k8s/, docker-compose.yml) or is a policy
 * the operator owns (`policy()` below: lifetimes, limits, retention). Values nobody has a reason
 * to change are named constants in tuning.ts instead, which tests override through the app
 * factory. The README's configuration table is generated from this schema (`npm run
 * docs:config`) and a test checks that the two agree.
 */

const _bool = z
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

/** Marks a setting no deployment file sets because its value is the operator's policy. */
function policy<T extends z.ZodType>(schema: T, description: string): T {
  return schema.meta({ description, policy: true });
}

/** True for the settings marked with `policy()`. */
export function isPolicy(schema: z.ZodType): boolean {
  return z.globalRegistry.get(schema)?.policy === true;
}

declare module 'zod' {
  interface GlobalMeta {
    policy?: boolean;
  }
}

export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('`production` refuses embedded defaults and weak secrets.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
  PORT: int(0, 65535)
    .optional()
    .describe(
      'Port to listen on. Unset: 8000 for the API, 8001 for the worker (its health and metrics).',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  DATA_DIR: policy(
    z.string().min(1).default('./data'),
    'Folder of the embedded database (PGlite) when `DATABASE_URL` is unset. One process at a time opens it.',
  ),
  DATABASE_URL: url(['postgres', 'postgresql'])
    .optional()
    .describe('PostgreSQL URL. Unset: embedded PGlite under `DATA_DIR` (refused in production).'),
  DATABASE_POOL_MAX: int(1, 200).default(10).describe('Connections in the Postgres pool.'),
  REDIS_URL: url(['redis', 'rediss'])
    .optional()
    .describe('Redis URL for the token denylist and rate limits. Unset: in-memory stores.'),
  REDIS_KEY_PREFIX: policy(
    z.string().default('ca:'),
    'Prefix of every Redis key this service writes (for a Redis shared with other services).',
  ),
  JWT_SECRET: z
    .string()
    .optional()
    .describe('HS256 secret, at least 32 bytes. Unset outside production: random per process.'),
  SECURITY_LOG_KEY: z
    .string()
    .optional()
    .describe(
      'Key of the security log hash chain (HMAC), at least 32 bytes; `npm run audit:verify` needs the same. Unset outside production: a fixed development key.',
    ),
  JWT_PREVIOUS_SECRETS: z
    .string()
    .default('')
    .describe(
      'Comma-separated secrets tokens may still be verified with (not signed): the ones JWT_SECRET replaced, kept one access token lifetime (docs/security.md).',
    ),
  AUTH_ISSUER: z
    .string()
    .default('')
    .describe(
      "The platform auth service's issuer (`iss`): its access tokens are accepted too. Empty: only ours.",
    ),
  AUTH_JWKS_URL: z
    .string()
    .default('')
    .describe(
      'Where the platform auth service publishes its keys (JWKS). Needed with AUTH_ISSUER.',
    ),
  AUTH_AUDIENCE: z
    .string()
    .default('')
    .describe(
      "The `aud` the platform's tokens must carry for this service. Needed with AUTH_ISSUER.",
    ),
  AUTH_ROLE_MAP: z
    .string()
    .default('')
    .describe(
      "Which of the platform token's roles are ours: `claim.path:theirs=ours,…` (e.g. `roles:affiliation-operator=operator`). Needed with AUTH_ISSUER.",
    ),
  ACCESS_TOKEN_TTL_SECONDS: policy(int(30, 86_400).default(900), 'Access token lifetime.'),
  REFRESH_TOKEN_TTL_SECONDS: policy(
    int(60, 90 * 86_400).default(7 * 86_400),
    'Refresh token lifetime.',
  ),
  RATE_LIMIT_MAX: int(0, 10_000_000)
    .default(600)
    .describe('Requests per client IP per minute on `/api`. `0` turns the limit off.'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .describe(
      'Trust X-Forwarded-For from: `false`, `true` (any peer) or a comma list of IPs/CIDRs.',
    ),
  CORS_ORIGINS: policy(
    list.default([]),
    'Comma-separated origins allowed by CORS. Empty: no cross-origin access.',
  ),
  SHUTDOWN_GRACE_MS: int(100, 120_000)
    .default(10_000)
    .describe('On SIGTERM/SIGINT: time allowed for in-flight work before exit.'),
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
  OPERATOR_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, _ and - only (the hub directory's `_id`)")
    .optional()
    .describe(
      "This operator's `_id` in the hub's directory (`npm run operator:register` prints it). " +
        'With OPERATOR_NAME it enables registering citizens; unset with the built-in simulator: a simulated identity.',
    ),
  OPERATOR_NAME: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe("This operator's name, as the hub knows it (sent with every registration)."),
  PUBLIC_BASE_URL: url(['http', 'https'])
    .optional()
    .describe(
      'Where other operators reach this service (its transfer endpoints are registered under it), e.g. `https://carpeta.example.org`.',
    ),
  OPERATORS_CACHE_TTL_SECONDS: int(0, 86_400)
    .default(300)
    .describe(
      "Reuse the hub's operator directory this long; when the hub fails, the last copy is served marked stale.",
    ),
  TRANSFER_CONFIRM_TIMEOUT_SECONDS: policy(
    int(60, 30 * 86_400).default(14_400),
    'A citizen sent to another operator waits this long for its confirmation; then validateCitizen says where it is (docs/transfers.md).',
  ),
  TRANSFER_WAIT_FOR_DOCUMENTS: policy(
    _bool.default(true),
    'A citizen received from another operator is registered only after the documents service answers `transfer.documents.stored`. Without `AMQP_URL` it is not waited for.',
  ),
  PEER_ALLOWED_HOSTS: list
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/, 'must be host:port'),
      ),
    )
    .default([])
    .describe(
      'Comma-separated `host:port` of other operators this service may call without the address checks and the directory listing (development and tests; docs/transfers.md).',
    ),
  HUB_MAX_CONCURRENT: policy(
    int(1, 100_000).default(256),
    'Hub calls in flight at most, per process and endpoint (bulkhead); more wait for a slot (up to 4 per slot, 1 s), then answer 503.',
  ),
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
  RETENTION_INTERVAL_SECONDS: int(0, 604_800)
    .default(3600)
    .describe(
      'How often the API deletes rows that have done their job (sent events, handled messages, ' +
        'expired idempotency keys and refresh tokens). `0`: never. Audit rows are never deleted.',
    ),
  RETENTION_HOURS: int(1, 87_600)
    .default(168)
    .describe(
      'Keep a sent event, and the record of a handled request message, this long. An unsent ' +
        'event is kept; a redelivery within the window is not handled twice.',
    ),
  WORKER_PREFETCH: int(1, 10_000)
    .default(16)
    .describe('Worker: unacknowledged messages held at once (also its concurrency).'),
});

export type Env = z.infer<typeof envSchema>;

/**
 * Who this operator is at the hub. Outside production with the built-in simulator as the hub,
 * unset values are a simulated identity; against a real hub they stay unset, and what needs them
 * is switched off, saying so (`missing` names them), rather than run as someone else.
 */
export interface OperatorIdentity {
  id: string | undefined;
  name: string | undefined;
  publicBaseUrl: string | undefined;
  simulated: boolean;
}

/** The identity the built-in simulator's hub knows this service by. */
export const SIMULATED_IDENTITY = LOCAL_OPERATOR;

/** This operator's identity from the environment, simulated where that is safe (see above). */
export function operatorIdentity(
  e: Pick<Env, 'NODE_ENV' | 'GOVCARPETA_URL' | 'OPERATOR_ID' | 'OPERATOR_NAME' | 'PUBLIC_BASE_URL'>,
  port: number,
): OperatorIdentity {
  const simulated = e.GOVCARPETA_URL === undefined && e.NODE_ENV !== 'production';
  return {
    id: e.OPERATOR_ID ?? (simulated ? SIMULATED_IDENTITY.id : undefined),
    name: e.OPERATOR_NAME ?? (simulated ? SIMULATED_IDENTITY.name : undefined),
    publicBaseUrl:
      e.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? (simulated ? `http://localhost:${port}` : undefined),
    simulated: simulated && (e.OPERATOR_ID === undefined || e.OPERATOR_NAME === undefined),
  };
}

/** Which identity settings a feature needs and lacks; empty when it can run. */
export function missingIdentity(
  identity: OperatorIdentity,
  needs: ('id' | 'name' | 'publicBaseUrl')[],
): string[] {
  const names = { id: 'OPERATOR_ID', name: 'OPERATOR_NAME', publicBaseUrl: 'PUBLIC_BASE_URL' };
  return needs.filter((n) => identity[n] === undefined).map((n) => names[n]);
}

/**
 * The security log's key outside production when none is set: fixed, so an embedded database's
 * chain still verifies after a restart. It protects nothing; production requires a real one.
 */
export const DEVELOPMENT_SECURITY_LOG_KEY = 'development only: not a secret, set SECURITY_LOG_KEY';

export type Config = Omit<Env, 'JWT_SECRET' | 'TRUST_PROXY' | 'PORT' | 'SECURITY_LOG_KEY'> & {
  SECURITY_LOG_KEY: string;
  PORT: number;
  operator: OperatorIdentity;
  JWT_SECRET: string;
  /** True when the secret was generated for this process only. */
  jwtSecretGenerated: boolean;
  /** JWT_PREVIOUS_SECRETS, split. */
  jwtPreviousSecrets: string[];
  /** AUTH_ROLE_MAP, parsed; null without AUTH_ISSUER (only our own tokens are accepted). */
  authRoleMap: RoleMap | null;
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

/**
 * Secrets nobody chose: k8s/base/secret.template.yaml's placeholder and the words people type for
 * one. Long enough to pass the length rule, so they are refused by name in production.
 */
const PLACEHOLDER =
  /^(REPLACE_WITH_AT_LEAST_32_RANDOM_BYTES|.*(change[-_ ]?me|replace[-_ ]?(me|with)|placeholder|your[-_ ]?secret|secret[-_ ]?here|example|dummy).*)$/i;

export function isPlaceholder(secret: string): boolean {
  return PLACEHOLDER.test(secret.trim());
}

/** AUTH_*: all four together, the URLs https in production, the role map (parsed) well formed. */
function platformIssuerProblems(e: Env, map: RoleMap | string | null): string[] {
  const set = [e.AUTH_ISSUER, e.AUTH_JWKS_URL, e.AUTH_AUDIENCE, e.AUTH_ROLE_MAP].filter(Boolean);
  if (set.length === 0) return [];
  if (set.length < 4) {
    return ['AUTH_ISSUER, AUTH_JWKS_URL, AUTH_AUDIENCE and AUTH_ROLE_MAP: set all four, or none'];
  }
  const problems: string[] = [];
  for (const name of ['AUTH_ISSUER', 'AUTH_JWKS_URL'] as const) {
    let url: URL | undefined;
    try {
      url = new URL(e[name]);
    } catch {
      problems.push(`${name}: must be a URL`);
      continue;
    }
    if (e.NODE_ENV === 'production' && url.protocol !== 'https:') {
      problems.push(`${name}: must be https in production`);
    }
  }
  if (typeof map === 'string') problems.push(`AUTH_ROLE_MAP: ${map}`);
  return problems;
}

/**
 * A secret's own problems, when it is set: shorter than 32 bytes anywhere; a placeholder (the
 * secret template's, or a word people type for one) in production.
 */
function secretProblems(name: string, value: string | undefined, production: boolean): string[] {
  if (value === undefined) return [];
  const problems: string[] = [];
  if (Buffer.byteLength(value) < MIN_SECRET_BYTES) {
    problems.push(`${name}: must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (production && isPlaceholder(value)) {
    problems.push(
      `${name}: is a placeholder (the secret template's, or a word like "changeme"); ` +
        'set it to at least 32 random bytes, e.g. `openssl rand -base64 48`',
    );
  }
  return problems;
}

/** Where each process listens when PORT is unset, so both run side by side on one machine. */
export const DEFAULT_PORT = { api: 8000, worker: 8001 } as const;

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

/** Production never runs on the embedded database: every process and command refuses it. */
export function embeddedDatabaseProblem(
  env: Pick<Env, 'NODE_ENV' | 'DATABASE_URL'>,
): string | undefined {
  return env.NODE_ENV === 'production' && env.DATABASE_URL === undefined
    ? 'DATABASE_URL: required in production (the embedded database is for development)'
    : undefined;
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

  const trustProxy = parseTrustProxy(e.TRUST_PROXY);
  if (trustProxy === undefined) {
    problems.push('TRUST_PROXY: must be true, false or a comma list of IPs/CIDRs');
  }
  const production = e.NODE_ENV === 'production';
  problems.push(...secretProblems('JWT_SECRET', e.JWT_SECRET, production));
  problems.push(...secretProblems('SECURITY_LOG_KEY', e.SECURITY_LOG_KEY, production));
  const previousSecrets = e.JWT_PREVIOUS_SECRETS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (previousSecrets.some((s) => Buffer.byteLength(s) < MIN_SECRET_BYTES)) {
    problems.push(`JWT_PREVIOUS_SECRETS: each must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const roleMap = e.AUTH_ROLE_MAP ? parseRoleMap(e.AUTH_ROLE_MAP) : null;
  problems.push(...platformIssuerProblems(e, roleMap));
  if (production) {
    const api = role === 'api';
    if (api && e.JWT_SECRET === undefined) problems.push('JWT_SECRET: required in production');
    const embedded = embeddedDatabaseProblem(e);
    if (embedded) problems.push(embedded);
    if (api && e.REDIS_URL === undefined) {
      problems.push('REDIS_URL: required in production (in-memory stores are per process)');
    }
    if (api && e.SECURITY_LOG_KEY === undefined) {
      problems.push('SECURITY_LOG_KEY: required in production (the security log hash chain)');
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
  if (problems.length > 0) throw new ConfigError(problems);

  const port = e.PORT ?? DEFAULT_PORT[role];
  const operator = operatorIdentity(e, port);
  return {
    ...e,
    operator,
    PORT: port,
    JWT_SECRET: e.JWT_SECRET ?? randomBytes(48).toString('base64url'),
    jwtPreviousSecrets: previousSecrets,
    // all four AUTH_* or none (checked above): a role map means a platform issuer
    authRoleMap: typeof roleMap === 'object' ? roleMap : null,
    SECURITY_LOG_KEY: e.SECURITY_LOG_KEY ?? DEVELOPMENT_SECURITY_LOG_KEY,
    jwtSecretGenerated: e.JWT_SECRET === undefined,
    TRUST_PROXY: trustProxy ?? false,
    embeddedDatabase: e.DATABASE_URL === undefined,
  };
}
