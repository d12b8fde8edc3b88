import { Pool } from 'undici';

/**
 * The open model (constant arrival rate), as k6's `constant-arrival-rate` executor runs it:
 * requests start on a schedule whatever the answers do; at most `maxInFlight` are open at once
 * (k6's VUs), and a request due while all of them are busy is a **dropped iteration**. Latency
 * is measured from the moment a request was due, not from when it could be sent, so a stall
 * shows in the percentiles (no coordinated omission).
 */

export interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One second of a run: the requests due and dropped in it, and the answers (with their
 * latencies) and failures that came in it.
 */
export interface Second {
  /** Seconds since the start, the end of this window. */
  t: number;
  due: number;
  answered: number;
  dropped: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
}

export interface ArrivalRun {
  due: number;
  answered: number;
  dropped: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  p50: number;
  p99: number;
  /** Answers per second over the run. */
  reqPerSec: number;
  seconds: Second[];
  /** The failed requests by error code (UND_ERR_SOCKET, ECONNRESET…). */
  errorCodes: Record<string, number>;
  /** Every answer's latency (ms) and when it came (s since the start), in the order they came. */
  latencies: Float64Array;
  answeredAt: Float64Array;
}

export interface ArrivalOptions {
  url: string;
  /** Requests started per second. */
  rate: number;
  durationSeconds: number;
  maxInFlight: number;
  /** The next request to send (called once per arrival). */
  next: () => Request;
  /** A request unanswered after this long is a timeout (default 10 s). */
  timeoutMs?: number;
  /** Called at the end of each second, with that second's figures. */
  onSecond?: (s: Second) => void;
}

/** The value below which `q` (0..1) of `sorted` lies, rounded to the millisecond. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, i)] as number);
}

class Window {
  latencies: number[] = [];
  due = 0;
  dropped = 0;
  errors = 0;
  non2xx = 0;

  close(t: number): Second {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      t,
      due: this.due,
      answered: this.latencies.length,
      dropped: this.dropped,
      errors: this.errors,
      non2xx: this.non2xx,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
    };
  }
}

const TICK_MS = 2;

export async function constantArrivals(o: ArrivalOptions): Promise<ArrivalRun> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const origin = new URL(o.url).origin;
  const pool = new Pool(origin, {
    connections: o.maxInFlight,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const all: number[] = [];
  const at: number[] = [];
  const errorCodes: Record<string, number> = {};
  const totals = { due: 0, dropped: 0, errors: 0, timeouts: 0, non2xx: 0 };
  const seconds: Second[] = [];
  let window = new Window();
  let inFlight = 0;
  /** Resolves the wait for the last answers once none is in flight. */
  let drained: (() => void) | undefined;
  const settle = () => {
    if (inFlight === 0) drained?.();
  };
  const start = performance.now();
  const end = start + o.durationSeconds * 1000;

  const send = (dueAt: number) => {
    const r = o.next();
    inFlight++;
    // undici's handler API (the one its Pool takes directly): no response stream or promise per
    // request, so the generator's own CPU (which shares the machine it measures) stays low.
    let status = 0;
    pool.dispatch(
      { origin, method: r.method, path: r.path, headers: r.headers, body: r.body },
      {
        onConnect: () => {},
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: () => true,
        onComplete: () => {
          inFlight--;
          const now = performance.now();
          const ms = now - dueAt;
          all.push(ms);
          at.push((now - start) / 1000);
          window.latencies.push(ms);
          if (status < 200 || status > 299) {
            totals.non2xx++;
            window.non2xx++;
          }
          settle();
        },
        onError: (err: Error & { code?: string }) => {
          inFlight--;
          totals.errors++;
          window.errors++;
          const code = err.code ?? err.message ?? 'unknown';
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
            totals.timeouts++;
          }
          settle();
        },
      },
    );
  };

  await new Promise<void>((resolve) => {
    let nextSecond = start + 1000;
    const timer = setInterval(() => {
      const now = Math.min(performance.now(), end);
      // At the end exactly the run's share (the float sum start + duration - start may fall short).
      const dueNow =
        now >= end
          ? Math.round(o.durationSeconds * o.rate)
          : Math.floor(((now - start) / 1000) * o.rate);
      for (; totals.due < dueNow; totals.due++) {
        window.due++;
        const dueAt = start + (totals.due / o.rate) * 1000;
        if (inFlight >= o.maxInFlight) {
          totals.dropped++;
          window.dropped++;
        } else send(dueAt);
      }
      while (now >= nextSecond) {
        const s = window.close(Math.round((nextSecond - start) / 1000));
        seconds.push(s);
        o.onSecond?.(s);
        window = new Window();
        nextSecond += 1000;
      }
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  if (inFlight > 0) await new Promise<void>((r) => (drained = r));
  await pool.close();
  const latencies = Float64Array.from(all);
  const sorted = latencies.slice().sort();
  return {
    ...totals,
    answered: all.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    reqPerSec: all.length / o.durationSeconds,
    seconds,
    errorCodes,
    latencies,
    answeredAt: Float64Array.from(at),
  };
}
