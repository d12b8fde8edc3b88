import { upstreamUnavailable } from '../shared/errors.js';
import { HubError } from './client.js';

/** What a person reads about a hub failure (audit rows, completion messages). */
export function hubFailureReason(err: HubError): string {
  const what: Record<HubError['failure'], string> = {
    timeout: 'did not answer in time',
    connection: 'could not be reached',
    status: `answered ${err.status ?? 'an error'}`,
    breaker_open: 'is failing; calls are paused (circuit open)',
    overloaded: 'has too many calls in flight',
  };
  return `GovCarpeta ${what[err.failure]}`;
}

/**
 * Asks the hub for a decision. When it cannot give one (HubError), `audit` records the failure
 * with its reason and the caller gets a 503 UPSTREAM_UNAVAILABLE with Retry-After, saying
 * `consequence` (e.g. "no decision was made"): a hub failure is never a decision.
 */
export async function decideWithHub<T>(
  ask: () => Promise<T>,
  audit: (reason: string) => Promise<void>,
  consequence: string,
): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    const reason = hubFailureReason(err);
    await audit(reason);
    throw upstreamUnavailable(`${reason}; ${consequence}`, err.retryAfterSeconds, err);
  }
}
