import { randomInt } from 'node:crypto';
import { buildHubSimulator, type HubSimulator } from '../../src/hub/simulator.js';

/** The GovCarpeta simulator on a loopback port, controlled by the test. */
export async function startHub(): Promise<
  HubSimulator & { url: string; close: () => Promise<void> }
> {
  const sim = buildHubSimulator();
  const url = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  return { ...sim, url, close: () => sim.app.close() };
}

/**
 * A fresh 10-digit citizen id. The simulator's rule: an even last digit is not registered
 * (ELIGIBLE), an odd one is (ALREADY_AFFILIATED).
 */
export function citizenId(kind: 'eligible' | 'affiliated', digits = 10): string {
  const head = String(randomInt(10 ** (digits - 2), 10 ** (digits - 1)));
  const last = kind === 'eligible' ? 2 * randomInt(0, 5) : 2 * randomInt(0, 5) + 1;
  return `${head}${last}`;
}
