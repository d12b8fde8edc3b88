import { and, inArray, lt, notExists, type SQL, sql } from 'drizzle-orm';
import { alias, type PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { idempotencyKeys, inbox, outbox, refreshTokens } from '../db/schema.js';
import type { Config } from './config.js';
import { IDEMPOTENCY_TTL_HOURS } from './idempotency.js';

/**
 * Deletes rows that have done their job, so that working tables stop growing and personal data
 * (citizen ids in event payloads and stored answers) is not kept longer than it is needed:
 * - outbox: events sent (confirmed by the broker) more than `outboxHours` ago. An event not yet
 *   sent is never deleted, however old.
 * - inbox: messages the worker handled more than `inboxHours` ago. A redelivery of one of them
 *   after that would be handled again.
 * - idempotency_keys: keys past their 24 h, which no longer replay anything.
 * - refresh_tokens: tokens of logins whose every token has expired. While any token of a login
 *   is alive, its spent tokens stay, so that reusing one still revokes the login.
 * The audit tables (affiliation_checks, document_authentications) are never deleted here.
 *
 * Rows go in batches of `batchSize`, each its own statement, so no lock is held for long; rows
 * another replica is deleting at the same moment are skipped (SKIP LOCKED), not waited for.
 * No index serves the time conditions: measured, neither a BRIN nor a B-tree index made a run
 * faster (docs/operations.md#retention), and either would cost every insert.
 */

export const RETAINED_TABLES = ['outbox', 'inbox', 'idempotency_keys', 'refresh_tokens'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];
export type Purged = Record<RetainedTable, number>;
export interface PurgeResult {
  deleted: Purged;
  failed: { table: RetainedTable; error: unknown }[];
}

export interface RetentionPolicy {
  outboxHours: number;
  inboxHours: number;
  batchSize?: number;
}

/** Retention as configured (`*_RETENTION_HOURS`), for the API's timer and the CLI alike. */
export function retentionFromConfig(
  config: Pick<Config, 'OUTBOX_RETENTION_HOURS' | 'INBOX_RETENTION_HOURS'>,
  db: Db,
): Retention {
  return new Retention(db, {
    outboxHours: config.OUTBOX_RETENTION_HOURS,
    inboxHours: config.INBOX_RETENTION_HOURS,
  });
}

const hoursAgo = (hours: number) => sql`now() - make_interval(hours => ${hours})`;

const laterToken = alias(refreshTokens, 'later');

interface Rule {
  table: PgTable;
  /** What names a row for the batch's DELETE. */
  key: SQL;
  /** Which rows have done their job; `now()` is Postgres's, at each batch. */
  expired: SQL | undefined;
}

export class Retention {
  private readonly rules: Record<RetainedTable, Rule>;
  private readonly batchSize: number;

  constructor(
    private readonly db: Db,
    policy: RetentionPolicy,
  ) {
    this.batchSize = policy.batchSize ?? 1000;
    this.rules = {
      outbox: {
        table: outbox,
        key: sql`${outbox.id}`,
        // An unsent row has sent_at null, which is never older than anything.
        expired: lt(outbox.sentAt, hoursAgo(policy.outboxHours)),
      },
      inbox: {
        table: inbox,
        key: sql`${inbox.messageId}`,
        expired: lt(inbox.receivedAt, hoursAgo(policy.inboxHours)),
      },
      idempotency_keys: {
        table: idempotencyKeys,
        // The primary key is three columns; the row's ctid names it for the batch.
        key: sql`ctid`,
        expired: lt(idempotencyKeys.createdAt, hoursAgo(IDEMPOTENCY_TTL_HOURS)),
      },
      refresh_tokens: {
        table: refreshTokens,
        key: sql`${refreshTokens.id}`,
        expired: and(
          lt(refreshTokens.expiresAt, sql`now()`),
          notExists(
            this.db
              .select({ one: sql`1` })
              .from(laterToken)
              .where(
                and(
                  sql`${laterToken.familyId} = ${refreshTokens.familyId}`,
                  sql`${laterToken.expiresAt} >= now()`,
                ),
              ),
          ),
        ),
      },
    };
  }

  /**
   * Deletes every expired row, a batch at a time, and says how many went from each table and
   * which tables failed. A table that fails does not stop the others. `stopping` is asked
   * between batches, so a shutdown does not wait for a long backlog.
   */
  async purge(stopping: () => boolean = () => false): Promise<PurgeResult> {
    const result: PurgeResult = {
      deleted: { outbox: 0, inbox: 0, idempotency_keys: 0, refresh_tokens: 0 },
      failed: [],
    };
    for (const table of RETAINED_TABLES) {
      try {
        for (;;) {
          if (stopping()) return result;
          const deleted = await this.deleteBatch(this.rules[table]);
          result.deleted[table] += deleted;
          if (deleted < this.batchSize) break;
        }
      } catch (error) {
        result.failed.push({ table, error });
      }
    }
    return result;
  }

  private async deleteBatch({ table, key, expired }: Rule): Promise<number> {
    const batch = this.db
      .select({ key })
      .from(table)
      .where(expired)
      .limit(this.batchSize)
      .for('update', { skipLocked: true });
    const rows = await this.db.delete(table).where(inArray(key, batch)).returning({ one: sql`1` });
    return rows.length;
  }
}
