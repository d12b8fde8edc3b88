import { asc, getTableName, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { deleteBatch } from '../../db/batch.js';
import type { Db, Executor } from '../../db/client.js';
import type { TraceCarrier } from '../telemetry/tracing.js';
import { type OutboxRow, outbox } from './outbox.table.js';

/** Every query of the outbox table. */

export interface NewEvent {
  id: string;
  routingKey: string;
  /** '' for RabbitMQ's default exchange (a reply to a queue); unset: this service's exchange. */
  exchange?: string | undefined;
  payload: unknown;
  /** The trace of the request that wrote it (tracing.ts), continued by the relay's publish. */
  traceContext?: TraceCarrier | null;
}

/** Writes an event (a second write of one id does nothing: ids are stable per event). */
export async function insertEvent(db: Executor, event: NewEvent): Promise<void> {
  await db.insert(outbox).values(event).onConflictDoNothing();
}

/** The oldest unsent events, locked for this transaction; rows other relays hold are skipped. */
export function claimPending(tx: Executor, limit: number): Promise<OutboxRow[]> {
  return tx
    .select()
    .from(outbox)
    .where(isNull(outbox.sentAt))
    .orderBy(asc(outbox.createdAt))
    .limit(limit)
    .for('update', { skipLocked: true });
}

export async function markSent(tx: Executor, ids: string[], at: Date): Promise<void> {
  if (ids.length > 0) await tx.update(outbox).set({ sentAt: at }).where(inArray(outbox.id, ids));
}

export async function markFailed(tx: Executor, ids: string[], error: string): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error })
    .where(inArray(outbox.id, ids));
}

/** How many events wait, and the age of the oldest (0 when none). */
export async function pendingStats(
  db: Executor,
): Promise<{ count: number; oldestSeconds: number }> {
  const [row] = await db
    .select({
      count: sql<number>`count(*)::int`,
      oldest: sql<string | null>`extract(epoch from now() - min(${outbox.createdAt}))::float8`,
    })
    .from(outbox)
    .where(isNull(outbox.sentAt));
  return { count: Number(row?.count ?? 0), oldestSeconds: Number(row?.oldest ?? 0) };
}

/** Retention: deletes up to `limit` events sent more than `hours` ago (never an unsent one). */
export function deleteSentBefore(db: Executor, hours: number, limit: number): Promise<number> {
  // An unsent row has sent_at null, which is never older than anything.
  const old = lt(outbox.sentAt, sql`now() - make_interval(hours => ${hours})`);
  return deleteBatch(db, outbox, sql`${outbox.id}`, old, limit);
}

export interface PreparedWrite {
  execute(values: { rows: string; events: string }): Promise<unknown>;
}

/**
 * One prepared statement that writes a batch of decision rows of `table` (those `columns`) and
 * their events, given as two JSON arrays: `with decisions as (insert into <table> (<columns>)
 * select … from json_to_recordset($1) as r(<column> <type>, …)) insert into outbox select … from
 * json_to_recordset($2) …`. One statement is one transaction: a decision and its event commit
 * together or not at all. Two parameters whatever the batch's size, so it is planned once per
 * connection.
 */
export function prepareDecisionWrite(
  db: Db,
  table: PgTable,
  columns: PgColumn[],
  name: string,
): PreparedWrite {
  const list = sql.join(
    columns.map((c) => sql.identifier(c.name)),
    sql`, `,
  );
  const types = sql.join(
    columns.map((c) => sql`${sql.identifier(c.name)} ${sql.raw(c.getSQLType())}`),
    sql`, `,
  );
  const decisions = db.$with('decisions', {}).as(
    sql`insert into ${table} (${list}) select ${list}
      from json_to_recordset(${sql.placeholder('rows')}::text::json) as r(${types})`,
  );
  return (
    db
      .with(decisions)
      .insert(outbox)
      // Drizzle names every column of the outbox, in order: the new event's defaults are spelt out.
      .select(
        sql`select e.id, e.routing_key, null::text, e.payload, now(), null::timestamptz, 0,
          null::text, e.trace_context
        from json_to_recordset(${sql.placeholder('events')}::text::json)
          as e(id uuid, routing_key text, payload jsonb, trace_context jsonb)`,
      )
      .onConflictDoNothing()
      .prepare(`record_${getTableName(table)}_${name}`)
  );
}
