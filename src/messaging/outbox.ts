import { randomUUID } from 'node:crypto';
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgColumn, PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Executor } from '../../db/client.js';
import { causeChain } from '../shared/errors.js';
import { currentTraceCarrier, dbSpan, type TraceCarrier } from '../telemetry/tracing.js';
import type { EventBody, EventType } from './events.js';
import { GroupCommit } from './group-commit.js';
import { insertEvent, type PreparedWrite, prepareDecisionWrite } from './outbox.repository.js';

/** One decision row (values by column name) and its event. */
interface Decision {
  row: Record<string, unknown>;
  event: { id: string; routing_key: string; payload: unknown; trace_context: TraceCarrier | null };
}

/** Most decisions written by one statement. */
const MAX_BATCH_ROWS = 200;

/**
 * The transactional outbox of one process: decisions and the events describing them are written
 * together, and this process's relay (relay.ts) is told after each commit, so it publishes at
 * once instead of at its next poll.
 *
 * Under load, the decisions of concurrent requests are written by one statement (group-commit.ts,
 * `prepareDecisionWrite`): one round trip and one commit for the batch. Why one writer at a time
 * per table, and what it measured, is in docs/performance.md ("Latest full runs: the group commit").
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

  /** Announces a commit that wrote events (with `enqueue`) to this process's relay. */
  committed(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * Writes an event inside the caller's transaction: it exists exactly when the row it describes
   * does. Call `committed()` once the transaction has committed. Returns the event id.
   */
  async enqueue<E extends EventType>(
    tx: Executor,
    event: E,
    body: EventBody<E>,
    id: string = randomUUID(),
    exchange?: string,
  ): Promise<string> {
    await insertEvent(tx, {
      id,
      routingKey: event.routingKey,
      exchange,
      payload: body,
      traceContext: currentTraceCarrier(),
    });
    return id;
  }

  /**
   * Writes a decision row and the event describing it, atomically. With nothing else to write,
   * it goes with the decisions of concurrent requests in one statement. When `alsoInTransaction`
   * is given (e.g. storing an Idempotency-Key), a transaction of its own holds all three.
   * Returns the event id.
   */
  async record<T extends PgTable, E extends EventType>(
    table: T,
    row: PgInsertValue<T>,
    event: E,
    body: EventBody<E>,
    alsoInTransaction?: (tx: Executor) => Promise<void>,
  ): Promise<string> {
    const id = randomUUID();
    const tables = `${getTableName(table)}, outbox`;
    if (alsoInTransaction) {
      await dbSpan('INSERT', tables, () =>
        this.db.transaction(async (tx) => {
          await tx.insert(table).values(row);
          await this.enqueue(tx, event, body, id);
          await alsoInTransaction(tx);
        }),
      );
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
    const decision: Decision = {
      row: values,
      event: {
        id,
        routing_key: event.routingKey,
        payload: body,
        trace_context: currentTraceCarrier(),
      },
    };
    // The span lasts from joining the group commit to its commit: what this request waited.
    await dbSpan('INSERT', tables, () => this.writer(table, given).add(decision));
    return id;
  }

  /** The group commit of this table and set of columns, with its prepared statement. */
  private writer(table: PgTable, columns: PgColumn[]): GroupCommit<Decision> {
    const key = `${getTableName(table)}(${columns.map((c) => c.name).join(',')})`;
    let writer = this.writers.get(key);
    if (!writer) {
      const statement: PreparedWrite = prepareDecisionWrite(
        this.db,
        table,
        columns,
        String(this.writers.size),
      );
      writer = new GroupCommit(
        async (decisions) => {
          await statement.execute({
            rows: JSON.stringify(decisions.map((d) => d.row)),
            events: JSON.stringify(decisions.map((d) => d.event)),
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
