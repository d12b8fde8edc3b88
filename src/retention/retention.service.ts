import type { Db } from '../../db/client.js';
import { deleteExpiredFamilies } from '../auth/refresh-tokens.repository.js';
import { IDEMPOTENCY_TTL_HOURS } from '../idempotency/idempotency.service.js';
import { deleteExpiredKeys } from '../idempotency/idempotency-keys.repository.js';
import { deleteHandledBefore } from '../messaging/inbox.repository.js';
import { deleteSentBefore } from '../messaging/outbox.repository.js';

/**
 * Deletes rows that have done their job, so that working tables stop growing and personal data
 * (citizen ids in event payloads and stored answers) is not kept longer than it is needed:
 * - outbox: events sent (confirmed by the broker) more than `hours` ago. An event not yet sent
 *   is never deleted, however old.
 * - inbox: messages the worker handled more than `hours` ago. A redelivery of one of them after
 *   that would be handled again.
 * - idempotency_keys: keys past their 24 h, which no longer replay anything.
 * - refresh_tokens: tokens of logins whose every token has expired.
 * The audit tables (affiliation_checks, document_authentications) are never deleted here.
 *
 * Each table's repository deletes a batch per statement, so no lock is held for long, and skips
 * rows another replica is deleting at the same moment. No index serves the time conditions:
 * measured, neither a BRIN nor a B-tree index made a run faster (docs/operations.md#retention),
 * and either would cost every insert.
 */

export const RETAINED_TABLES = ['outbox', 'inbox', 'idempotency_keys', 'refresh_tokens'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];
export type Purged = Record<RetainedTable, number>;
export interface PurgeResult {
  deleted: Purged;
  failed: { table: RetainedTable; error: unknown }[];
}

export interface RetentionPolicy {
  /** How long a sent event and a handled message stay (RETENTION_HOURS). */
  hours: number;
  batchSize?: number;
}

export class Retention {
  private readonly batches: Record<RetainedTable, (limit: number) => Promise<number>>;
  private readonly batchSize: number;

  constructor(db: Db, policy: RetentionPolicy) {
    this.batchSize = policy.batchSize ?? 1000;
    this.batches = {
      outbox: (n) => deleteSentBefore(db, policy.hours, n),
      inbox: (n) => deleteHandledBefore(db, policy.hours, n),
      idempotency_keys: (n) => deleteExpiredKeys(db, IDEMPOTENCY_TTL_HOURS, n),
      refresh_tokens: (n) => deleteExpiredFamilies(db, n),
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
          const deleted = await this.batches[table](this.batchSize);
          result.deleted[table] += deleted;
          if (deleted < this.batchSize) break;
        }
      } catch (error) {
        result.failed.push({ table, error });
      }
    }
    return result;
  }
}
