import { register } from 'node:module';
import type { Span } from '@opentelemetry/api';
import { maskCitizenIds } from '../shared/paths.js';
import { enableTracing } from './tracing.js';

/**
 * OpenTelemetry tracing for one process, configured by the standard `OTEL_*` variables and off
 * unless an OTLP endpoint is set. The entry points (src/server.ts, src/worker.ts) call
 * startTracing() before they import anything else: the instrumentations patch `node:http`,
 * ioredis and pino as they are loaded (import-in-the-middle's hook for ES modules,
 * require-in-the-middle for CommonJS), so the SDK must run first. Off, nothing here is loaded.
 *
 * Traced: incoming HTTP (instrumentation-http, with @fastify/otel naming the route), outgoing HTTP
 * through undici (the hub, peers, JWKS), Redis (ioredis), and by hand (tracing.ts) the Postgres
 * writes and RabbitMQ. Log lines get `trace_id` and `span_id` (instrumentation-pino). Metrics and
 * logs stay where they are (Prometheus, stdout): the SDK exports traces only unless
 * `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` say otherwise.
 */

export interface Tracing {
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
  /** @fastify/otel's plugin, for the app to register (it names each request's route). */
  fastifyPlugin: unknown;
}

let running: Tracing | undefined;

/** The tracing this process started, if any. */
export function currentTracing(): Tracing | undefined {
  return running;
}

/** Is tracing configured? An OTLP endpoint is set, and neither the SDK nor its exporter is off. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim());
  if (exporters.includes('none') && exporters.length === 1) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Paths no one traces: probes and scrapes, every few seconds. */
const UNTRACED = /^\/(health|metrics|docs)(\/|$|\?)/;

/** A URL as a span may hold it: citizen ids masked, no query string, no credentials. */
export function spanUrl(raw: string): string {
  try {
    const url = new URL(raw, 'http://relative.invalid');
    const path = maskCitizenIds(url.pathname);
    return raw.startsWith('/') ? path : `${url.protocol}//${url.host}${path}`;
  } catch {
    return '[unparsable]';
  }
}

/**
 * Overwrites the URL attributes an instrumentation set from the raw URL (the stable HTTP semantic
 * conventions: `url.path`, `url.full`, `url.query`).
 */
function maskUrlAttributes(span: Span, path: string, full?: string): void {
  span.setAttribute('url.path', spanUrl(path));
  if (full !== undefined) span.setAttribute('url.full', spanUrl(full));
  if (path.includes('?')) span.setAttribute('url.query', '[redacted]');
}

/**
 * Starts the SDK when tracing is configured; returns undefined (and loads nothing) when not.
 * `serviceName` is the default for `OTEL_SERVICE_NAME`.
 */
export async function startTracing(serviceName: string): Promise<Tracing | undefined> {
  if (running || !tracingConfigured()) return running;
  const env = process.env;
  env.OTEL_SERVICE_NAME ||= serviceName;
  env.OTEL_METRICS_EXPORTER ||= 'none';
  env.OTEL_LOGS_EXPORTER ||= 'none';

  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const [{ NodeSDK }, http, undici, ioredis, pino, fastify] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-pino'),
    import('@fastify/otel'),
  ]);
  const fastifyOtel = new fastify.FastifyOtelInstrumentation({
    // The request span only: the HTTP server span is its parent and the work its children.
    instrumentHooks: false,
    instrumentHandler: false,
    ignorePaths: (route) => UNTRACED.test(route.url),
    requestHook: (span, request) => maskUrlAttributes(span, request.url),
  });
  const sdk = new NodeSDK({
    instrumentations: [
      new http.HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
        // Outgoing HTTP goes through undici (below); node:http's client is not used.
        disableOutgoingRequestInstrumentation: true,
        requestHook: (span, req) => {
          if ('url' in req && typeof req.url === 'string') {
            maskUrlAttributes(span, req.url, `http://${req.headers.host ?? 'localhost'}${req.url}`);
          }
        },
      }),
      new undici.UndiciInstrumentation({
        requestHook: (span, request) => {
          maskUrlAttributes(span, request.path, `${request.origin}${request.path}`);
        },
      }),
      // Only the command's name: keys hold addresses, token ids and idempotency keys.
      new ioredis.IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      new pino.PinoInstrumentation({ disableLogSending: true }),
      fastifyOtel,
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  enableTracing();
  running = { shutdown: () => sdk.shutdown(), fastifyPlugin: fastifyOtel.plugin() };
  return running;
}
