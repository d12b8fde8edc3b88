import { randomUUID } from 'node:crypto';
import { getTableColumns, getTableName, sql } from 'drizzle-orm';
import type { PgColumn, PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Executor } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import { causeChain } from '../errors.js';
import { GroupCommit } from './group-commit.js';
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

/** One decision row (values by column name) and its event. */
interface Decision {
  row: Record<string, unknown>;
  event: { id: string; routing_key: string; payload: unknown };
}

/** Most decisions written by one statement. */
const MAX_BATCH_ROWS = 200;

/**
 * The transactional outbox of one process: decisions and the events describing them are written
 * together, and this process's relay (relay.ts) is told after each commit, so it publishes at
 * once instead of at its next poll. (A NOTIFY trigger did this before; Postgres serialises every
 * committing transaction that notifies, which capped the write rate: see docs/performance.md.)
 *
 * Under load, the decisions of concurrent requests are written by one statement (group-commit.ts).
 * One statement is one transaction: a decision and its event commit together or not at all.
 */
export class Outbox {
  private readonly listeners = new Set<() => void>();
  private readonly writers = new Map<string, GroupCommit<Decision>>();

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
   * ONE prepared statement writes it with the decisions of concurrent requests (a data-modifying
   * CTE over JSON rows): atomic like a transaction, one round trip and one commit for the batch,
   * planned once per connection. When `alsoInTransaction` is given (e.g. storing an
   * Idempotency-Key), a transaction of its own holds all three. Returns the event id.
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
      this.committed();
      return id;
    }
    // An undefined column takes its default, as in a plain insert.
    const columns = getTableColumns(table);
    const given: PgColumn[] = [];
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row as object)) {
      const column = columns[key];
      if (value === undefined) continue;
      if (!column) throw new Error(`${getTableName(table)} has no column ${key}`);
      given.push(column);
      values[column.name] = value;
    }
    await this.writer(table, given).add({
      row: values,
      event: { id, routing_key: routingKey, payload: body },
    });
    return id;
  }

  /** The group commit of this table and set of columns, with its prepared statement. */
  private writer(table: PgTable, columns: PgColumn[]): GroupCommit<Decision> {
    const key = `${getTableName(table)}(${columns.map((c) => c.name).join(',')})`;
    let writer = this.writers.get(key);
    if (!writer) {
      const statement = this.prepare(table, columns, this.writers.size);
      writer = new GroupCommit(
        async (decisions) => {
          await statement.execute({
            [ROWS]: JSON.stringify(decisions.map((d) => d.row)),
            [EVENTS]: JSON.stringify(decisions.map((d) => d.event)),
          });
          this.committed();
        },
        MAX_BATCH_ROWS,
        rowError,
      );
      this.writers.set(key, writer);
    }
    return writer;
  }

  /**
   * `with decisions as (insert into <table> (<columns>) select <columns> from json_to_recordset($1)
   * as r(<column> <type>, ...)) insert into outbox select ... from json_to_recordset($2) ...`:
   * two parameters, whatever the batch's size, so it is prepared once per connection.
   */
  private prepare(table: PgTable, columns: PgColumn[], n: number): Prepared {
    const list = sql.join(
      columns.map((c) => sql.identifier(c.name)),
      sql`, `,
    );
    const types = sql.join(
      columns.map((c) => sql`${sql.identifier(c.name)} ${sql.raw(c.getSQLType())}`),
      sql`, `,
    );
    const decisions = this.db.$with('decisions', {}).as(
      sql`insert into ${table} (${list}) select ${list}
        from json_to_recordset(${sql.placeholder(ROWS)}::text::json) as r(${types})`,
    );
    return (
      this.db
        .with(decisions)
        .insert(outbox)
        // Drizzle names every column of the outbox, in order: the new event's defaults are spelt out.
        .select(
          sql`select e.id, e.routing_key, e.payload, now(), null::timestamptz, 0, null::text
          from json_to_recordset(${sql.placeholder(EVENTS)}::text::json)
            as e(id uuid, routing_key text, payload jsonb)`,
        )
        .onConflictDoNothing()
        .prepare(`record_${n}`)
    );
  }
}

/**
 * Did a row make the statement fail? SQLSTATE class 22 (a value: too long, not valid for its type)
 * or 23 (a constraint: a duplicate id, a null), anywhere in the error's causes.
 */
export function rowError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (typeof e.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code)) return true;
  }
  return false;
}

/** Placeholder names of a batch's decision rows and events, each a JSON array. */
const ROWS = 'rows';
const EVENTS = 'events';
