/**
 * Values the service is built with that no operator has a reason to set: timings of the hub
 * client and breaker, the relay's batches, the worker's retry delays, and the like. They are
 * named here, once, with why they are what they are where it is not obvious; measurements behind
 * them are in docs/performance.md. Tests (and only tests) pass overrides to the app factories
 * (`buildApp(config, { tuning })`); a value that an operator needs to change belongs in env.ts.
 */
export const TUNING = {
  /** SO_REUSEPORT listening sockets on PORT (Node ≥ 22.12; one elsewhere): see src/app/listen.ts. */
  listenSockets: 32,
  /** Time a client has to send a whole request. */
  requestTimeoutMs: 30_000,
  /** Largest request body accepted (413 above); a route that needs more sets its own. */
  bodyLimitBytes: 65_536,
  /** The peer transfer endpoints' body limit: a citizen with its list of documents. */
  peerBodyLimitBytes: 262_144,
  /** Answer 503 while the event loop lags more than this (0: off). */
  maxEventLoopDelayMs: 1000,
  /** …but not in this long after start: two of under-pressure's 1 s samples, the first of which holds the start-up. */
  pressureWarmupMs: 2000,
  /** Answer 503 while the heap is larger than this (0: off; the pod's memory limit applies). */
  maxHeapUsedBytes: 0,
  /** A Redis command slower than this fails (protected routes then answer 503). */
  redisCommandTimeoutMs: 1000,
  /** Apply migrations at start: the embedded database does; Postgres is migrated by its job. */
  migrateOnStart: undefined as boolean | undefined,
  /** Embedded mode: the admin created with a one-time password on the first start. */
  bootstrapAdminUsername: 'admin',
  jwt: { issuer: 'citizen-affiliation', audience: 'citizen-affiliation-api' },
  /** The security log's writer (src/security/security-log.ts). */
  securityLog: {
    /** A batch is written this long after its first event. */
    flushIntervalMs: 100,
    /** Events held while the database is slow or down; more are dropped (and counted). */
    maxPending: 10_000,
  },
  /** The platform auth service's keys (AUTH_JWKS_URL): src/auth/platform-tokens.ts. */
  platformTokens: {
    /** A fetched key is used this long; then the JWKS is asked again (its last copy if down). */
    ttlMs: 600_000,
    /** After the JWKS lacked a key id, tokens naming unknown ones fetch nothing this long. */
    unknownKidIntervalMs: 30_000,
    timeoutMs: 3000,
  },
  login: {
    /** Failed logins allowed per client address and username in the window (the contract's). */
    maxFailures: 5,
    failureWindowSeconds: 900,
    /** scrypt hashes (32 MiB, ~100 ms of CPU each) computed at once; more logins wait. */
    hashConcurrency: 1,
  },
  /** The window of RATE_LIMIT_MAX. */
  rateLimitWindowSeconds: 60,
  hub: {
    /** Extra attempts of the idempotent citizen lookup; document calls are never retried. */
    retries: 2,
    /** Backoff before retry n: random in [0, base * 2^n) ("full jitter"). */
    retryBaseMs: 100,
    /** Keep-alive connections to the hub. */
    connections: 64,
    breaker: {
      /** The breaker opens when this share of the window's calls failed… */
      errorPercent: 50,
      /** …and at least this many calls were made in it. */
      minCalls: 10,
      windowMs: 10_000,
      /** Time open before one trial call (half-open). */
      resetMs: 10_000,
    },
    /**
     * Beyond HUB_MAX_CONCURRENT calls in flight, a call waits for a slot (src/hub/bulkhead.ts):
     * at most this many per slot wait, each at most maxWaitMs, then 503 with Retry-After. 4 per
     * slot holds 1,000 connections' worth over the default 256; a second is well inside what a
     * client waits for a check, and a healthy hub frees a slot in tens of milliseconds.
     */
    bulkhead: { queuedPerSlot: 4, maxWaitMs: 1000 },
  },
  outbox: {
    /** How often a relay looks for events it was not told about (a replica that died). */
    pollMs: 1000,
    /** Most events claimed per relay batch: under saturation a batch must hold what arrives meanwhile. */
    batchSize: 2000,
    /** A broker confirm slower than this fails the batch (retried later). */
    publishTimeoutMs: 10_000,
  },
  transfers: {
    /** How often a runner looks for due transfer steps when nothing woke it. */
    pollMs: 1000,
    /** A claim on a transfer holds this long: longer than its slowest step (a peer POST). */
    leaseMs: 60_000,
    /** Transfers claimed, and run concurrently, per pass. */
    batchSize: 16,
    /** Deadline of one POST to another operator. */
    peerTimeoutMs: 10_000,
    /** Requests per source address per minute on the public transfer routes. */
    peerRateLimitMax: 120,
    /** At most this many documents in a transfer, each URL at most this long. */
    maxDocuments: 50,
    maxUrlLength: 2048,
    /** See src/transfers/transfer-steps.ts (TransferTimings) and docs/transfers.md. */
    documentsTimeoutSeconds: 86_400,
    freeWaitSeconds: 1800,
    hubBudgetSeconds: 3600,
    sendBudgetSeconds: 3600,
    callbackBudgetSeconds: 3 * 86_400,
    retryBaseSeconds: 5,
    retryMaxSeconds: 600,
    unknownAddress: 'Sin dirección (traslado entre operadores)',
  },
  worker: {
    /** Delays between hub retries of one request; when used up, it completes as failed. */
    retryDelaysMs: [1000, 5000, 30_000, 120_000] as readonly number[],
    /** Pause before requeueing a message our own dependencies failed on (no hot loop). */
    requeueDelayMs: 1000,
  },
};

export type Tuning = typeof TUNING;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
export type TuningOverrides = DeepPartial<Tuning>;

function merge(base: unknown, overrides: unknown): unknown {
  if (overrides === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return overrides;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
    out[key] = merge(out[key], value);
  }
  return out;
}

/** The tuning with a test's overrides applied (arrays are replaced, not merged). */
export function tune(overrides: TuningOverrides = {}): Tuning {
  return merge(TUNING, overrides) as Tuning;
}
