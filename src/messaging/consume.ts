import type { Span } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import type { z } from 'zod';
import { contextOf, inSpan, SpanKind } from '../telemetry/tracing.js';
import type { Broker } from './broker.js';
import type { ConsumeOutcome } from './metrics.js';

/** Header counting the hub attempts already made for one request message. */
export const ATTEMPT_HEADER = 'x-hub-attempts';

export interface ConsumerBase {
  broker: Broker;
  /** The queue consumed. */
  queue: string;
  log: FastifyBaseLogger;
  consumed: Counter<'outcome' | 'queue'>;
  /** Pause before requeueing a message our own dependencies failed on (no hot loop). */
  requeueDelayMs: number;
}

export const clip = (v: unknown) => (v === undefined ? undefined : String(v).slice(0, 100));

/**
 * What every request consumer of the worker does around its own `process()`: consume, count
 * each outcome, requeue (after a pause) a message our own dependencies failed on, let one
 * delivery of a request at a time be handled here, and pass a message on to a delay queue.
 */
export abstract class RequestConsumer {
  private readonly inflight = new Set<Promise<void>>();
  /** Requests in hand here, by key: a concurrent duplicate waits for the first. */
  private readonly active = new Map<string, Promise<unknown>>();

  constructor(private readonly base: ConsumerBase) {}

  async start(): Promise<void> {
    await this.base.broker.channel.consume(this.base.queue, (msg) => {
      const job = this.handle(msg).finally(() => this.inflight.delete(job));
      this.inflight.add(job);
    });
  }

  /** Stops taking messages and waits for those in hand. */
  async stop(): Promise<void> {
    await this.base.broker.channel.cancelAll().catch(() => {});
    await Promise.allSettled([...this.inflight]);
  }

  /** Handles one delivery in a span that continues the sender's trace (its `traceparent`). */
  handle(msg: ConsumeMessage): Promise<void> {
    return inSpan(
      `process ${this.base.queue}`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextOf(msg.properties.headers),
        attributes: {
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'process',
          'messaging.destination.name': msg.fields.exchange,
          'messaging.rabbitmq.destination.routing_key': msg.fields.routingKey,
          'messaging.message.id': clip(msg.properties.messageId) ?? '',
        },
      },
      (span) => this.count(msg, span),
    );
  }

  private async count(msg: ConsumeMessage, span: Span | undefined): Promise<void> {
    const outcome = await this.process(msg).catch(async (err: unknown) => {
      // Postgres (or the broker) failed us, not the message: try it again shortly.
      this.base.log.error({ err: { message: (err as Error).message } }, 'request failed; requeued');
      await new Promise((r) => setTimeout(r, this.base.requeueDelayMs));
      this.base.broker.channel.nack(msg, false, true);
      return 'failed' as const;
    });
    this.base.consumed.inc({ outcome, queue: this.base.queue });
    span?.setAttribute('consume.outcome', outcome);
  }

  protected abstract process(msg: ConsumeMessage): Promise<ConsumeOutcome>;

  /** The message's body, as `schema` reads it; undefined (logged, with its problems) if not. */
  protected parse<S extends z.ZodType>(msg: ConsumeMessage, schema: S): z.output<S> | undefined {
    let json: unknown;
    try {
      json = JSON.parse(msg.content.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.base.log.warn(
      {
        message_id: clip(msg.properties.messageId),
        problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5),
      },
      'malformed request message sent to the dead-letter queue',
    );
    return undefined;
  }

  /** Runs `work` for `key` once any other delivery of it in hand here is done. */
  protected async oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const earlier = this.active.get(key);
    if (earlier) await earlier.catch(() => {});
    const done = work();
    this.active.set(key, done);
    try {
      return await done;
    } finally {
      if (this.active.get(key) === done) this.active.delete(key);
    }
  }

  /** The hub attempts this delivery makes the message's: 1 for a first delivery. */
  protected attemptOf(msg: ConsumeMessage): number {
    return Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 0) + 1;
  }

  /** Sends the message to a delay queue (it comes back after `delayMs`) and acks this delivery. */
  protected async retryLater(
    msg: ConsumeMessage,
    next: { queue: string; delayMs: number },
    attempts: number,
    log: FastifyBaseLogger,
    failure: string,
  ): Promise<'retried'> {
    await this.base.broker.channel.sendToQueue(next.queue, msg.content, {
      persistent: true,
      contentType: msg.properties.contentType ?? 'application/json',
      messageId: msg.properties.messageId,
      headers: { ...msg.properties.headers, [ATTEMPT_HEADER]: attempts },
    });
    this.base.broker.channel.ack(msg);
    log.warn({ attempts, retry_in_ms: next.delayMs, failure }, 'hub failed; retry scheduled');
    return 'retried';
  }
}
