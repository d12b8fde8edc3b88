import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/client.js';
import { sharedRead, within } from '../shared/timing.js';
import type { Broker } from './broker.js';
import { pendingStats } from './outbox.repository.js';

export interface EventMetrics {
  published: Counter<'routing_key'>;
  publishFailures: Counter;
  returned: Counter<'routing_key'>;
}

/** Relay metrics, plus the outbox backlog read from Postgres at each scrape. */
export function eventMetrics(registry: Registry, db: Db): EventMetrics {
  const registers = [registry];
  // One query per scrape serves both gauges; a failing database leaves the last values.
  const read = sharedRead(() => pendingStats(db), { count: 0, oldestSeconds: 0 });
  new Gauge({
    name: 'outbox_pending_events',
    help: 'Events committed but not yet confirmed by RabbitMQ.',
    registers,
    async collect() {
      this.set((await read()).count);
    },
  });
  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest event waiting in the outbox (0 when none).',
    registers,
    async collect() {
      this.set((await read()).oldestSeconds);
    },
  });
  return {
    published: new Counter({
      name: 'events_published_total',
      help: 'Events confirmed by RabbitMQ, by routing key.',
      labelNames: ['routing_key'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'events_publish_failures_total',
      help: 'Event publications not confirmed (they stay in the outbox and are retried).',
      registers,
    }),
    returned: new Counter({
      name: 'events_returned_total',
      help: 'Events the broker returned as unroutable (mandatory flag), by routing key.',
      labelNames: ['routing_key'],
      registers,
    }),
  };
}

export type ConsumeOutcome =
  | 'completed'
  | 'gave_up'
  | 'duplicate'
  | 'refused'
  | 'retried'
  | 'malformed'
  | 'failed';

/** Request messages handled by the worker's consumers, by outcome and queue. */
export function consumedCounter(registry: Registry): Counter<'outcome' | 'queue'> {
  return new Counter({
    name: 'consumer_messages_total',
    help: 'Request messages handled, by outcome (completed, gave_up, duplicate, refused, retried, malformed, failed) and queue.',
    labelNames: ['outcome', 'queue'],
    registers: [registry],
  });
}

/** Depth of the queues an operator must watch, read from the broker at each scrape. */
export function queueDepthGauge(registry: Registry, broker: Broker, queues: string[]): void {
  new Gauge({
    name: 'amqp_queue_messages',
    help: 'Messages ready in a queue of this service (dead letters, unrouted events, requests), read at scrape time by the worker.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      if (!broker.isConnected()) return;
      for (const queue of queues) {
        const depth = await within(
          2000,
          broker.channel.checkQueue(queue).then((q) => q.messageCount),
        ).catch(() => undefined);
        if (depth !== undefined) this.set({ queue }, depth);
      }
    },
  });
}
