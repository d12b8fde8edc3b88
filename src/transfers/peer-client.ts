import { Agent, request } from 'undici';
import { causeChain } from '../shared/errors.js';
import { type PeerGuard, PeerUrlRefused, safeOrigin } from './peer-guard.js';

/**
 * POSTs to other operators (a citizen sent to a peer's transfer URL, a confirmation to an
 * origin's callback), through the guard (peer-guard.ts). The outcome decides what the saga does:
 * `accepted` (2xx), `refused` (a 4xx, or a redirect: never followed) is the peer's answer,
 * `unreachable` (connection errors, timeouts, 408, 429, 5xx) may be tried again, `blocked` is the
 * guard's refusal to call that URL at all.
 */
export type PeerOutcome =
  | { kind: 'accepted'; status: number }
  | { kind: 'refused'; status: number; why: string }
  | { kind: 'unreachable'; why: string }
  | { kind: 'blocked'; why: string };

/** Most bytes of a peer's answer read (the rest is dropped: we decide on the status). */
const MAX_ANSWER_BYTES = 4096;

export class PeerClient {
  /** Connections whose addresses are checked as they resolve. */
  private readonly checked: Agent;
  /** Connections to PEER_ALLOWED_HOSTS. */
  private readonly trusted: Agent;

  constructor(
    readonly guard: PeerGuard,
    private readonly timeoutMs: number,
  ) {
    const common = { connections: 8, connect: { timeout: timeoutMs } };
    this.checked = new Agent({
      ...common,
      connect: { ...common.connect, lookup: guard.lookup },
    });
    this.trusted = new Agent(common);
  }

  async post(raw: string, body: unknown): Promise<PeerOutcome> {
    let target: Awaited<ReturnType<PeerGuard['checkUrl']>>;
    try {
      target = await this.guard.checkUrl(raw);
    } catch (err) {
      if (err instanceof PeerUrlRefused) return { kind: 'blocked', why: err.why };
      throw err;
    }
    try {
      const answer = await request(target.url, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        dispatcher: target.checkAddresses ? this.checked : this.trusted,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await readSome(answer.body);
      const status = answer.statusCode;
      if (status >= 200 && status < 300) return { kind: 'accepted', status };
      if (status >= 300 && status < 400) {
        return { kind: 'refused', status, why: `${status}: a redirect, not followed` };
      }
      if (status === 408 || status === 429 || status >= 500) {
        return { kind: 'unreachable', why: `${safeOrigin(raw)} answered ${status}` };
      }
      return { kind: 'refused', status, why: `${status}${text ? `: ${text}` : ''}` };
    } catch (err) {
      for (const e of causeChain(err)) {
        if (e instanceof PeerUrlRefused) return { kind: 'blocked', why: e.why };
      }
      const code = [...causeChain(err)].map((e) => e.code).find((c) => typeof c === 'string');
      return {
        kind: 'unreachable',
        why: `${safeOrigin(raw)}: ${code ?? (err as Error).name ?? 'no answer'}`,
      };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.checked.close(), this.trusted.close()]);
  }
}

/** The start of an answer's body, as one line of text (never stored whole). */
async function readSome(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, 200).replace(/\s+/g, ' ').trim();
}
