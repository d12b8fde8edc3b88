import { startTracing } from './telemetry/start.js';

/**
 * Entry point of the API. Tracing starts before anything else is imported (its instrumentations
 * patch modules as they load), then the process itself: src/app/main-api.ts.
 */
await startTracing('citizen-affiliation');
await import('./app/main-api.js');
