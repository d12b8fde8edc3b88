import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from '../../db/columns.js';
import type { TraceCarrier } from '../telemetry/tracing.js';

/**
 * Transactional outbox: written in the same transaction as the row an event describes, published
 * by the relay after commit, marked sent only on the broker's confirm.
 */
export const outbox = pgTable(
  'outbox',
  {
    /** The event id: AMQP messageId and CloudEvents `ce-id`. */
    id: uuid('id').primaryKey(),
    routingKey: text('routing_key').notNull(),
    /** Where it is published: null, this service's topic exchange; '' the default exchange. */
    exchange: text('exchange'),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
    sentAt: at('sent_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** W3C trace context of the request that wrote it (traceparent, tracestate); null untraced. */
    traceContext: jsonb('trace_context').$type<TraceCarrier>(),
  },
  (t) => [index('outbox_pending_idx').on(t.createdAt).where(sql`${t.sentAt} is null`)],
);

export type OutboxRow = typeof outbox.$inferSelect;
