import { startTracing } from './telemetry/start.js';

/**
 * Entry point of `npm run worker`. Tracing starts before anything else is imported (its
 * instrumentations patch modules as they load), then the process itself: src/app/main-worker.ts.
 */
await startTracing('citizen-affiliation-worker');
await import('./app/main-worker.js');
