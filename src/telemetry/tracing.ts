import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * What the code on the request path uses of OpenTelemetry: its API only, never the SDK (start.ts
 * loads that, and only when tracing is configured). With tracing off every helper here returns at
 * its first line: no span, no context, no header written.
 *
 * Spans are written by hand only where no instrumentation exists: the Postgres writes (postgres.js
 * has none) and RabbitMQ (amqp-connection-manager sends queued messages from its own loop, so
 * instrumentation-amqplib would parent a publish to whichever call started that loop and overwrite
 * the trace context carried from the outbox row).
 */

let enabled = false;
const tracer = () => trace.getTracer('citizen-affiliation');

/** start.ts calls this once the SDK runs. */
export function enableTracing(): void {
  enabled = true;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** W3C trace context, as carried by an outbox row and by AMQP headers. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The active span's context as a carrier, or null (tracing off, or no sampled span). */
export function currentTraceCarrier(): TraceCarrier | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return null;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** The context a carrier (message headers, an outbox row's) continues; the root context if none. */
export function contextOf(carrier: unknown): Context {
  if (!enabled || typeof carrier !== 'object' || carrier === null) return ROOT_CONTEXT;
  const headers: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = (carrier as Record<string, unknown>)[key];
    if (typeof value === 'string') headers[key] = value;
    else if (Buffer.isBuffer(value)) headers[key] = value.toString('latin1');
  }
  return propagation.extract(ROOT_CONTEXT, headers);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when unset. */
  parent?: Context;
  /** Only when a span is active (or `parent` has one): no stray root spans from background work. */
  requireParent?: boolean;
}

/**
 * Runs `work` in a span of its own that ends when it settles (an error is recorded on it, and
 * rethrown). With tracing off, runs `work` and nothing else.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return work(undefined);
  const parent = options.parent ?? context.active();
  if (options.requireParent && !trace.getSpan(parent)) return work(undefined);
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes && { attributes: options.attributes }),
    },
    parent,
    async (span) => {
      try {
        return await work(span);
      } catch (err) {
        span.recordException({ name: (err as Error)?.name ?? 'Error', message: errorMessage(err) });
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * An error's message without the values a failed query carries (Drizzle puts its parameters in
 * the message: citizen ids, names): a span records the SQL only.
 */
function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const params = message.indexOf('\nparams:');
  return (params >= 0 ? message.slice(0, params) : message).slice(0, 300);
}

/** Set in the context of a dbSpan: a transaction inside it needs no span of its own. */
const IN_DB_SPAN = createContextKey('citizen-affiliation.db-span');

/**
 * A Postgres write's span, `<operation> <tables>` (`INSERT affiliation_checks, outbox`), with the
 * database semantic conventions. Only inside a traced request or message: background work (the
 * relay's claims, retention) starts no trace of its own.
 */
export function dbSpan<T>(operation: string, tables: string, work: () => Promise<T>): Promise<T> {
  if (!enabled) return work();
  const name = tables ? `${operation} ${tables}` : operation;
  return inSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      requireParent: true,
      attributes: {
        'db.system.name': 'postgresql',
        'db.system': 'postgresql',
        'db.operation.name': operation,
        ...(tables && { 'db.collection.name': tables }),
      },
    },
    () => context.with(context.active().setValue(IN_DB_SPAN, true), work),
  );
}

/**
 * Gives every transaction of `db` a span (`TRANSACTION`), unless it runs inside a dbSpan that
 * names what it writes. postgres.js has no instrumentation: this and dbSpan are its spans.
 */
export function traceTransactions<
  D extends { transaction: (...args: never[]) => Promise<unknown> },
>(db: D): void {
  if (!enabled) return;
  const transaction = db.transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
  (db as { transaction: unknown }).transaction = (...args: unknown[]) =>
    context.active().getValue(IN_DB_SPAN)
      ? transaction(...args)
      : dbSpan('TRANSACTION', '', () => transaction(...args));
}

export { SpanKind };
