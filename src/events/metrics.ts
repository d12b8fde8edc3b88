import { isNull, sql } from 'drizzle-orm';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/client.js';
import { outbox } from '../../db/schema.js';

export interface EventMetrics {
  published: Counter<'routing_key'>;
  publishFailures: Counter;
  returned: Counter<'routing_key'>;
}

/** Relay metrics, plus the outbox backlog read from Postgres at each scrape. */
export function eventMetrics(registry: Registry, db: Db): EventMetrics {
  const registers = [registry];
  let pending = 0;
  let oldestAge = 0;
  let lastRead: Promise<void> | undefined;
  // One query per scrape serves both gauges; a failing database leaves the last values.
  const read = () => {
    lastRead ??= db
      .select({
        count: sql<number>`count(*)::int`,
        oldest: sql<string | null>`extract(epoch from now() - min(${outbox.createdAt}))::float8`,
      })
      .from(outbox)
      .where(isNull(outbox.sentAt))
      .then(([row]) => {
        pending = Number(row?.count ?? 0);
        oldestAge = Number(row?.oldest ?? 0);
      })
      .catch(() => {})
      .finally(() => {
        setImmediate(() => {
          lastRead = undefined;
        });
      });
    return lastRead;
  };
  new Gauge({
    name: 'outbox_pending_events',
    help: 'Events committed but not yet confirmed by RabbitMQ.',
    registers,
    async collect() {
      await read();
      this.set(pending);
    },
  });
  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest event waiting in the outbox (0 when none).',
    registers,
    async collect() {
      await read();
      this.set(oldestAge);
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
