import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * GovCarpeta's HTTP API, as it really behaves: slow, flaky, answering 200 with a sentence that is
 * sometimes JSON-quoted and sometimes plain text. Plain TypeScript, no Fastify; no logging (the
 * caller logs outcomes, never document URLs).
 */

export const HUB_ENDPOINTS = [
  'validateCitizen',
  'authenticateDocument',
  'registerCitizen',
  'unregisterCitizen',
  'getOperators',
  'registerOperator',
  'registerTransferEndPoint',
] as const;
export type HubEndpoint = (typeof HUB_ENDPOINTS)[number];
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

/** What the hub needs to register a citizen with an operator. */
export interface CitizenRegistration {
  citizenId: string;
  name: string;
  address: string;
  email: string;
  operatorId: string;
  operatorName: string;
}

export interface RegistrationAnswer {
  /** 201: registered; 501: already registered with an operator (or refused). */
  outcome: 'registered' | 'already_registered';
  status: number;
  message: string;
}

export interface UnregistrationAnswer {
  /** 201 or 204: done (204 also when the citizen was not registered). */
  outcome: 'unregistered';
  status: number;
  message: string;
}

/** What registerOperator sends: the name, address and contact, and the team's participants. */
export interface OperatorApplication {
  name: string;
  address: string;
  contactMail: string;
  participants: string[];
}

export interface TransferEndpoints {
  operatorId: string;
  /** Where peers POST a citizen (our /api/transferCitizen). */
  endPoint: string;
  /** Where peers confirm a citizen we sent them (our /api/transferCitizenConfirm). */
  endPointConfirm: string;
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

/** The id in registerOperator's answer: bare, JSON-quoted, `{_id}` or `{operatorId}`. */
export function readOperatorId(body: string): string | undefined {
  const text = body.trim();
  if (text === '') return undefined;
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // a bare id
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    value = o._id ?? o.operatorId ?? o.OperatorId ?? o.id;
  }
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value.trim())
    ? value.trim()
    : undefined;
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
      const path = `/apis/validateCitizen/${encodeURIComponent(citizenId)}`;
      const { statusCode, body } = await this.send('GET', path, signal);
      if (statusCode === 200) return { registered: true, message: readMessage(body) };
      if (statusCode === 204) return { registered: false, message: '' };
      throw new HubError('validateCitizen', 'status', statusCode);
    });
  }

  /** 200: authenticated; 204 or 4xx: not authenticated; 5xx: HubError. Never retried here. */
  async authenticateDocument(input: {
    citizenId: string;
    documentUrl: string;
    documentTitle: string;
  }): Promise<DocumentAnswer> {
    return this.call('authenticateDocument', 0, async (signal) => {
      const { statusCode, body } = await this.send('PUT', '/apis/authenticateDocument', signal, {
        idCitizen: Number(input.citizenId),
        UrlDocument: input.documentUrl,
        documentTitle: input.documentTitle,
      });
      if (statusCode === 200) return { authenticated: true, message: readMessage(body) };
      if (statusCode === 204 || (statusCode >= 400 && statusCode < 500)) {
        return { authenticated: false, message: readMessage(body) || `hub answered ${statusCode}` };
      }
      throw new HubError('authenticateDocument', 'status', statusCode);
    });
  }

  /**
   * POST registerCitizen. 201: registered; 501: already registered (or refused). Anything else
   * is a HubError, and an ambiguous one (a timeout, a dropped connection, a 500 may each have
   * registered the citizen): never retried here; the gateway settles it with validateCitizen.
   */
  async registerCitizen(input: CitizenRegistration): Promise<RegistrationAnswer> {
    return this.call('registerCitizen', 0, async (signal) => {
      const { statusCode, body } = await this.send('POST', '/apis/registerCitizen', signal, {
        id: Number(input.citizenId),
        name: input.name,
        address: input.address,
        email: input.email,
        operatorId: input.operatorId,
        operatorName: input.operatorName,
      });
      if (statusCode === 201 || statusCode === 200) {
        return { outcome: 'registered', status: statusCode, message: readMessage(body) };
      }
      if (statusCode === 501) {
        return { outcome: 'already_registered', status: statusCode, message: readMessage(body) };
      }
      throw new HubError('registerCitizen', 'status', statusCode);
    });
  }

  /**
   * DELETE unregisterCitizen, with a JSON body. 201 or 204: done (204 also when the citizen was
   * not there); anything else is a HubError, ambiguous like registerCitizen's.
   */
  async unregisterCitizen(input: {
    citizenId: string;
    operatorId: string;
    operatorName: string;
  }): Promise<UnregistrationAnswer> {
    return this.call('unregisterCitizen', 0, async (signal) => {
      const { statusCode, body } = await this.send('DELETE', '/apis/unregisterCitizen', signal, {
        id: Number(input.citizenId),
        operatorId: input.operatorId,
        operatorName: input.operatorName,
      });
      if (statusCode === 201 || statusCode === 204 || statusCode === 200) {
        return { outcome: 'unregistered', status: statusCode, message: readMessage(body) };
      }
      throw new HubError('unregisterCitizen', 'status', statusCode);
    });
  }

  /** GET getOperators: the directory as the hub sends it (parse it with parseDirectory()). */
  async getOperators(): Promise<unknown> {
    return this.call('getOperators', this.o.retries, async (signal) => {
      const { statusCode, body } = await this.send('GET', '/apis/getOperators', signal);
      if (statusCode !== 200) throw new HubError('getOperators', 'status', statusCode);
      try {
        return JSON.parse(body) as unknown;
      } catch (err) {
        throw new HubError('getOperators', 'status', statusCode, err);
      }
    });
  }

  /**
   * POST registerOperator, sending the field names the hub's versions read (`name` and
   * `nameOperator`, `address` and `adress`). 201: registered; the body may hold the new id (bare,
   * quoted, `{_id}` or `{operatorId}`) or nothing. The directory has no delete: never retried.
   */
  async registerOperator(input: OperatorApplication): Promise<{ operatorId?: string }> {
    return this.call('registerOperator', 0, async (signal) => {
      const { statusCode, body } = await this.send('POST', '/apis/registerOperator', signal, {
        name: input.name,
        nameOperator: input.name,
        address: input.address,
        adress: input.address,
        contactMail: input.contactMail,
        participants: input.participants,
      });
      if (statusCode !== 201 && statusCode !== 200) {
        throw new HubError('registerOperator', 'status', statusCode);
      }
      const operatorId = readOperatorId(body);
      return operatorId ? { operatorId } : {};
    });
  }

  /** PUT registerTransferEndPoint (`idOperator`): idempotent, so retried like a GET. */
  async registerTransferEndPoint(input: TransferEndpoints): Promise<void> {
    await this.call('registerTransferEndPoint', this.o.retries, async (signal) => {
      const { statusCode } = await this.send('PUT', '/apis/registerTransferEndPoint', signal, {
        idOperator: input.operatorId,
        endPoint: input.endPoint,
        endPointConfirm: input.endPointConfirm,
      });
      if (statusCode < 200 || statusCode > 204) {
        throw new HubError('registerTransferEndPoint', 'status', statusCode);
      }
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    signal: AbortSignal,
    json?: unknown,
  ): Promise<{ statusCode: number; body: string }> {
    const res = await this.pool.request({
      method,
      path: `${this.basePath}${path}`,
      headers:
        json === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal,
    });
    return { statusCode: res.statusCode, body: await res.body.text() };
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
