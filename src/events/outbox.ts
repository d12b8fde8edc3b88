import { randomUUID } from 'node:crypto';
import { getTableName, type SQL, sql } from 'drizzle-orm';
import type { PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Executor } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import type { EventBody, PublishedKey } from './schemas.js';

/**
 * Writes an event into the outbox, inside the caller's transaction: it exists exactly when the
 * row it describes does. The relay publishes it after commit; call `Outbox.committed()` once the
 * transaction has committed. Returns the event id.
 */
export async function enqueueEvent<K extends PublishedKey>(
  tx: Executor,
  routingKey: K,
  body: EventBody<K>,
  id: string = randomUUID(),
): Promise<string> {
  await tx.insert(outbox).values({ id, routingKey, payload: body }).onConflictDoNothing();
  return id;
}

interface Prepared {
  execute(values: Record<string, unknown>): Promise<unknown>;
}

/**
 * The transactional outbox of one process: decisions and the events describing them are written
 * together, and this process's relay (relay.ts) is told after each commit, so it publishes at
 * once instead of at its next poll. (A NOTIFY trigger did this before; Postgres serialises every
 * committing transaction that notifies, which capped the write rate: see docs/performance.md.)
 */
export class Outbox {
  private readonly listeners = new Set<() => void>();
  private readonly statements = new Map<string, Prepared>();

  constructor(private readonly db: Db) {}

  /** Calls `listener` after every commit that wrote events in this process. */
  onCommitted(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Announces a commit that wrote events (with `enqueueEvent`) to this process's relay. */
  committed(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * Writes a decision row and the event describing it, atomically. With nothing else to write,
   * ONE prepared statement does it (a data-modifying CTE): atomic like a transaction, but one
   * round trip instead of four, and planned once per connection. When `alsoInTransaction` is
   * given (e.g. storing an Idempotency-Key), a transaction holds all three. Returns the event id.
   */
  async record<T extends PgTable, K extends PublishedKey>(
    table: T,
    row: PgInsertValue<T>,
    routingKey: K,
    body: EventBody<K>,
    alsoInTransaction?: (tx: Executor) => Promise<void>,
  ): Promise<string> {
    const id = randomUUID();
    if (alsoInTransaction) {
      await this.db.transaction(async (tx) => {
        await tx.insert(table).values(row);
        await enqueueEvent(tx, routingKey, body, id);
        await alsoInTransaction(tx);
      });
    } else {
      // An undefined column takes its default, as in a plain insert.
      const given = Object.entries(row as object).filter(([, value]) => value !== undefined);
      const values: Record<string, unknown> = Object.fromEntries(given);
      values[EVENT.id] = id;
      values[EVENT.routingKey] = routingKey;
      values[EVENT.payload] = body;
      await this.statement(
        table,
        given.map(([column]) => column),
      ).execute(values);
    }
    this.committed();
    return id;
  }

  /** The prepared "decision + event" statement for this table and set of columns. */
  private statement(table: PgTable, columns: string[]): Prepared {
    const key = `${getTableName(table)}(${columns.join(',')})`;
    let prepared = this.statements.get(key);
    if (!prepared) {
      const placeholders = Object.fromEntries(columns.map((c) => [c, sql.placeholder(c)]));
      const decision = this.db.$with('decision', {}).as(
        this.db
          .insert(table)
          .values(placeholders as PgInsertValue<PgTable>)
          .getSQL() as SQL,
      );
      prepared = this.db
        .with(decision)
        .insert(outbox)
        .values({
          id: sql.placeholder(EVENT.id),
          routingKey: sql.placeholder(EVENT.routingKey),
          payload: sql.placeholder(EVENT.payload),
        })
        .onConflictDoNothing()
        .prepare(`record_${this.statements.size}`);
      this.statements.set(key, prepared);
    }
    return prepared;
  }
}

/** Placeholder names of the event's columns (a row's own columns are camelCase names). */
const EVENT = { id: 'outbox:id', routingKey: 'outbox:routingKey', payload: 'outbox:payload' };
