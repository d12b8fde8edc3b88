import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The security log: logins, revocations, denials, user and role changes, operator registration,
 * refused peer callbacks (src/security/security-log.ts). Append-only, and tamper-evident: each
 * row's `hash` is an HMAC (SECURITY_LOG_KEY) over the row and the previous row's hash, so an
 * edited, removed or inserted row breaks the chain at that point (`npm run audit:verify`).
 * Retention never deletes from it.
 */
export const securityEvents = pgTable(
  'security_events',
  {
    /** 1, 2, 3…: assigned under a lock, so the chain has one order whatever the replicas. */
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    kind: text('kind').notNull(),
    /** A user id, `platform:<sub>`, or `username:<keyed hash>` for a name that is no user. */
    subject: text('subject'),
    /** The client address. */
    source: text('source'),
    requestId: text('request_id'),
    detail: jsonb('detail').$type<Record<string, string | number | boolean>>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('security_events_kind_at_idx').on(t.kind, t.at),
    index('security_events_subject_at_idx').on(t.subject, t.at),
    check('security_events_seq_positive', sql`${t.seq} > 0`),
  ],
);

export type SecurityEventRow = typeof securityEvents.$inferSelect;
