// Smoke: a few users for a minute. Run it after every deploy.
import { mixedIteration, thresholds } from './lib.js';

export const options = {
  vus: 5,
  duration: '1m',
  thresholds,
};

export default function () {
  mixedIteration();
}
