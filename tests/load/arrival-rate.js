// Open model: a fixed rate of new requests whatever the latency (no coordinated omission).
// RATE requests per second for DURATION; k6 adds VUs up to MAX_VUS to keep the rate.
// If it cannot, it counts `dropped_iterations`: the service (or the load generator) was
// too slow for this rate; the threshold below fails the run when that happens.
import { mixedIteration, thresholds } from './lib.js';

export const options = {
  scenarios: {
    open_model: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || '500'),
      timeUnit: '1s',
      duration: __ENV.DURATION || '5m',
      preAllocatedVUs: Number(__ENV.PRE_VUS || '200'),
      maxVUs: Number(__ENV.MAX_VUS || '2000'),
    },
  },
  thresholds: { ...thresholds, dropped_iterations: ['count<1'] },
};

export default function () {
  mixedIteration();
}
