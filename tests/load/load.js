// Load: ramps to 1,000 virtual users (closed model: each VU waits for its answer).
import { sleep } from 'k6';
import { mixedIteration, thresholds } from './lib.js';

export const options = {
  stages: [
    { duration: '2m', target: 200 },
    { duration: '3m', target: 1000 },
    { duration: '5m', target: 1000 },
    { duration: '2m', target: 0 },
  ],
  thresholds,
};

export default function () {
  mixedIteration();
  sleep(Math.random()); // think time
}
