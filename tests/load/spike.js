// Spike: from a trickle to 1,000 users in 10 s and back; the service must shed or absorb it
// without errors other than 503 with Retry-After.
import { mixedIteration, thresholds } from './lib.js';

export const options = {
  stages: [
    { duration: '1m', target: 20 },
    { duration: '10s', target: 1000 },
    { duration: '2m', target: 1000 },
    { duration: '10s', target: 20 },
    { duration: '2m', target: 20 },
  ],
  thresholds,
};

export default function () {
  mixedIteration();
}
