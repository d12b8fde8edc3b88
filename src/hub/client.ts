import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * GovCarpeta's HTTP API, as it really behaves: slow, flaky, answering 200 with a sentence that is
 * sometimes JSON-quoted and sometimes plain text. Plain TypeScript, no Fastify; no logging (the
 * caller logs outcomes, never document URLs).
 */

export type HubEndpoint = 'validateCitizen' | 'authenticateDocument';
/** Why a hub call gave no answer: never a decision, always a 503 for the caller. */
export type HubFailure = 'timeout' | 'connection' | 'status' | 'breaker_open' | 'overloaded';

export class HubError extends Error {
  constructor(
    readonly endpoint: HubEndpoint,
    readonly failure: HubFailure,
    readonly status?: number,
    cause?: unknown,
    /** When asking again may help; set when the breaker knows when it half-opens. */
    readonly retryAfterSeconds = 5,
  ) {
    super(`GovCarpeta ${endpoint} failed: ${failure}${status ? ` ${status}` : ''}`, { cause });
    this.name = 'HubError';
  }
}

export interface HubClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** Deadline of one call, retries included. */
  timeoutMs: number;
  /** Extra attempts for the idempotent GET only. */
  retries: number;
  /** Backoff before retry n is a random delay in [0, retryBaseMs * 2^n) ("full jitter"). */
  retryBaseMs: number;
  connections: number;
  /** Called once per call with its outcome and duration, for metrics. */
  onCall?: (endpoint: HubEndpoint, outcome: string, seconds: number) => void;
}

export interface CitizenAnswer {
  registered: boolean;
  message: string;
}

export interface DocumentAnswer {
  authenticated: boolean;
  message: string;
}

const MAX_MESSAGE = 500;

/** The hub's sentence, whether it came JSON-quoted, as a JSON object, or as plain text. */
export function readMessage(body: string): string {
  const text = body.trim();
  if (text.startsWith('"') || text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') return parsed.slice(0, MAX_MESSAGE);
      if (parsed && typeof parsed === 'object') {
        const m =
          (parsed as Record<string, unknown>).message ??
          (parsed as Record<string, unknown>).mensaje;
        if (typeof m === 'string') return m.slice(0, MAX_MESSAGE);
      }
    } catch {
      // not JSON after all: plain text
    }
  }
  return text.slice(0, MAX_MESSAGE);
}

function classify(err: unknown): HubFailure {
  const code = (err as { code?: string; name?: string }).code ?? '';
  const name = (err as { name?: string }).name ?? '';
  if (name === 'TimeoutError' || name === 'AbortError' || code.includes('TIMEOUT'))
    return 'timeout';
  return 'connection';
}

export class HubClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly basePath: string;

  constructor(private readonly o: HubClientOptions) {
    const url = new URL(o.baseUrl);
    this.pool = new Pool(url.origin, {
      connections: o.connections,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(o.timeoutMs, 5000),
    });
    this.headers = {
      accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
      ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
    };
    this.basePath = url.pathname.replace(/\/$/, '');
  }

  /** 200: registered with some operator; 204: not registered; anything else: HubError. */
  async validateCitizen(citizenId: string): Promise<CitizenAnswer> {
    return this.call('validateCitizen', this.o.retries, async (signal) => {
      const res = await this.pool.request({
        method: 'GET',
        path: `${this.basePath}/apis/validateCitizen/${encodeURIComponent(citizenId)}`,
        headers: this.headers,
        signal,
      });
      const body = await res.body.text();
      if (res.statusCode === 200) return { registered: true, message: readMessage(body) };
      if (res.statusCode === 204) return { registered: false, message: '' };
      throw new HubError('validateCitizen', 'status', res.statusCode);
    });
  }

  /** 200: authenticated; 204 or 4xx: not authenticated; 5xx: HubError. Never retried here. */
  async authenticateDocument(input: {
    citizenId: string;
    documentUrl: string;
    documentTitle: string;
  }): Promise<DocumentAnswer> {
    return this.call('authenticateDocument', 0, async (signal) => {
      const res = await this.pool.request({
        method: 'PUT',
        path: `${this.basePath}/apis/authenticateDocument`,
        headers: { ...this.headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          idCitizen: Number(input.citizenId),
          UrlDocument: input.documentUrl,
          documentTitle: input.documentTitle,
        }),
        signal,
      });
      const body = await res.body.text();
      if (res.statusCode === 200) return { authenticated: true, message: readMessage(body) };
      if (res.statusCode === 204 || (res.statusCode >= 400 && res.statusCode < 500)) {
        return {
          authenticated: false,
          message: readMessage(body) || `hub answered ${res.statusCode}`,
        };
      }
      throw new HubError('authenticateDocument', 'status', res.statusCode);
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async call<T>(
    endpoint: HubEndpoint,
    retries: number,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.o.timeoutMs);
    let lastError: HubError | undefined;
    for (let n = 0; n <= retries; n++) {
      if (n > 0) {
        const backoff = Math.random() * this.o.retryBaseMs * 2 ** (n - 1);
        try {
          await sleep(backoff, undefined, { signal: deadline });
        } catch {
          break; // the deadline ends the retries
        }
      }
      try {
        const result = await attempt(deadline);
        this.o.onCall?.(endpoint, 'ok', (performance.now() - started) / 1000);
        return result;
      } catch (err) {
        lastError =
          err instanceof HubError ? err : new HubError(endpoint, classify(err), undefined, err);
        if (deadline.aborted) break;
      }
    }
    const error = lastError ?? new HubError(endpoint, 'timeout');
    this.o.onCall?.(endpoint, error.failure, (performance.now() - started) / 1000);
    throw error;
  }
}
