// Soak: moderate steady load for hours (DURATION, default 4h); watch RSS, outbox backlog and
// event loop lag in Grafana for leaks and drift.
import { sleep } from 'k6';
import { mixedIteration, thresholds } from './lib.js';

export const options = {
  stages: [
    { duration: '5m', target: Number(__ENV.VUS || '200') },
    { duration: __ENV.DURATION || '4h', target: Number(__ENV.VUS || '200') },
    { duration: '5m', target: 0 },
  ],
  thresholds,
};

export default function () {
  mixedIteration();
  sleep(1);
}
