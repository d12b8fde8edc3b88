import { and, asc, desc, eq, inArray, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Db, Executor } from '../../db/client.js';
import type { Cursor } from '../shared/cursor.js';
import type { TransferDirection, TransferStatus, TransferStep } from '../shared/enums.js';
import {
  type StepOutcome,
  type TransferRow,
  type TransferStepRow,
  transferSteps,
  transfers,
} from './transfers.table.js';

/** Every query of the transfers and transfer_steps tables. */

export type NewTransfer = Omit<
  typeof transfers.$inferInsert,
  'status' | 'attempts' | 'dueAt' | 'stepSince' | 'createdAt' | 'updatedAt'
>;

/**
 * Writes a transfer and its first history row. Returns undefined when the citizen has
 * a transfer in progress already (one at a time per citizen, by a unique index).
 */
export async function insertTransfer(
  db: Executor,
  row: NewTransfer,
  detail: string,
  o: {
    /** FAILED: refused at once (recorded for the audit, never run). */
    status?: 'IN_PROGRESS' | 'FAILED';
    /** Its first step is due in this many seconds (a wait is woken by what it waits for). */
    dueInSeconds?: number;
  } = {},
): Promise<TransferRow | undefined> {
  const status = o.status ?? 'IN_PROGRESS';
  const ended = status === 'FAILED' ? { completedAt: sql`now()` } : {};
  const dueAt = sql`now() + make_interval(secs => ${o.dueInSeconds ?? 0})`;
  const [inserted] = await db
    .insert(transfers)
    .values({ ...row, ...ended, status, dueAt, stepSince: sql`now()` })
    .onConflictDoNothing({
      target: transfers.citizenId,
      where: sql`${transfers.status} = 'IN_PROGRESS'`,
    })
    .returning();
  if (!inserted) return undefined;
  await db.insert(transferSteps).values({
    transferId: inserted.id,
    step: inserted.step,
    outcome: status === 'FAILED' ? 'failed' : 'started',
    attempt: 0,
    detail,
  });
  return inserted;
}

export async function findTransfer(db: Executor, id: string): Promise<TransferRow | undefined> {
  const [row] = await db.select().from(transfers).where(eq(transfers.id, id));
  return row;
}

/** The citizen's transfer in progress, if any. */
export async function findInProgress(
  db: Executor,
  citizenId: string,
): Promise<TransferRow | undefined> {
  const [row] = await db
    .select()
    .from(transfers)
    .where(and(eq(transfers.citizenId, citizenId), eq(transfers.status, 'IN_PROGRESS')));
  return row;
}

export function findSteps(db: Executor, transferId: string): Promise<TransferStepRow[]> {
  return db
    .select()
    .from(transferSteps)
    .where(eq(transferSteps.transferId, transferId))
    .orderBy(asc(transferSteps.at), asc(transferSteps.id));
}

/** Newest first, after `cursor`, at most `limit` rows (keyset pagination). */
export function findTransfers(
  db: Executor,
  query: {
    citizenId?: string | undefined;
    direction?: TransferDirection | undefined;
    status?: TransferStatus | undefined;
    cursor?: Cursor | undefined;
    limit: number;
  },
): Promise<TransferRow[]> {
  const t = transfers;
  const where: SQL[] = [];
  if (query.citizenId) where.push(eq(t.citizenId, query.citizenId));
  if (query.direction) where.push(eq(t.direction, query.direction));
  if (query.status) where.push(eq(t.status, query.status));
  if (query.cursor) {
    const { at, id } = query.cursor;
    where.push(or(lt(t.createdAt, at), and(eq(t.createdAt, at), lt(t.id, id))) as SQL);
  }
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(desc(t.createdAt), desc(t.id))
    .limit(query.limit);
}

/**
 * Claims up to `limit` transfers whose step is due and that no live claim holds, for `leaseMs`:
 * `FOR UPDATE SKIP LOCKED` lets replicas claim at once without waiting on each other, and the
 * lease lets another take over a claim whose process died.
 */
export async function claimDue(
  db: Executor,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<TransferRow[]> {
  const t = transfers;
  const due = db
    .select({ id: t.id })
    .from(t)
    .where(
      and(
        eq(t.status, 'IN_PROGRESS'),
        lte(t.dueAt, sql`now()`),
        or(isNull(t.lockedUntil), lt(t.lockedUntil, sql`now()`)),
      ),
    )
    .orderBy(asc(t.dueAt))
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(t)
    .set({ lockedBy: owner, lockedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where(inArray(t.id, due))
    .returning();
}

/** What a step changes: the next step (or the same, to retry), when it is due, and more. */
export interface StepChange {
  step: TransferStep;
  outcome: Exclude<StepOutcome, 'started' | 'received'>;
  detail: string;
  /** Seconds from now until the next step runs (0: at once). */
  dueInSeconds: number;
  status?: TransferStatus;
  reqStatus?: number | null;
  reason?: string | null;
  documentsStored?: { success: boolean; message: string } | null;
}

/**
 * Records a step taken by the claim of `owner` (fenced: a claim that lapsed and was taken over
 * writes nothing, and undefined is returned) and moves the transfer on, releasing the claim.
 */
export async function advance(
  db: Executor,
  row: TransferRow,
  owner: string | null,
  change: StepChange,
): Promise<TransferRow | undefined> {
  const t = transfers;
  const sameStep = change.step === row.step;
  const ended = change.status !== undefined && change.status !== 'IN_PROGRESS';
  const [updated] = await db
    .update(t)
    .set({
      step: change.step,
      attempts: sameStep ? row.attempts + 1 : 0,
      stepSince: sameStep ? row.stepSince : sql`now()`,
      // A wait whose answer came while the step ran (a fast peer's confirmation) is due now.
      dueAt: sql`case when (${change.step} = 'AWAIT_CONFIRMATION' and ${t.reqStatus} is not null)
        or (${change.step} = 'AWAIT_DOCUMENTS' and ${t.documentsStored} is not null)
        then now() else now() + make_interval(secs => ${change.dueInSeconds}) end`,
      lockedBy: null,
      lockedUntil: null,
      updatedAt: sql`now()`,
      ...(change.status ? { status: change.status } : {}),
      ...(change.reqStatus !== undefined ? { reqStatus: change.reqStatus } : {}),
      ...(change.reason !== undefined ? { reason: change.reason } : {}),
      ...(change.documentsStored !== undefined ? { documentsStored: change.documentsStored } : {}),
      ...(ended ? { completedAt: sql`now()` } : {}),
    })
    .where(
      and(
        eq(t.id, row.id),
        eq(t.step, row.step),
        eq(t.status, 'IN_PROGRESS'),
        owner === null ? isNull(t.lockedBy) : eq(t.lockedBy, owner),
      ),
    )
    .returning();
  if (!updated) return undefined;
  await db.insert(transferSteps).values({
    transferId: row.id,
    step: row.step,
    outcome: change.outcome,
    attempt: row.attempts + 1,
    detail: change.detail,
  });
  return updated;
}

/**
 * Applies what a waiting transfer waits for (a confirmation, the documents service's answer) to
 * the transfer in progress that `where` picks, once, makes it due now and writes a `received`
 * history row, in one transaction. Undefined when no transfer waits for it.
 */
export function recordAnswer(
  db: Db,
  set: Pick<typeof transfers.$inferInsert, 'reqStatus' | 'documentsStored'>,
  where: SQL,
  detail: string,
): Promise<TransferRow | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(transfers)
      .set({ ...set, dueAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(where, eq(transfers.status, 'IN_PROGRESS')))
      .returning();
    if (!row) return undefined;
    await tx.insert(transferSteps).values({
      transferId: row.id,
      step: row.step,
      outcome: 'received',
      attempt: row.attempts,
      detail,
    });
    return row;
  });
}

/** Transfers in progress, by direction, and the age of the oldest (for the gauges). */
export async function inProgressStats(
  db: Executor,
): Promise<{ direction: TransferDirection; count: number; oldestSeconds: number }[]> {
  const rows = await db
    .select({
      direction: transfers.direction,
      count: sql<number>`count(*)::int`,
      oldestSeconds: sql<number>`coalesce(extract(epoch from now() - min(${transfers.createdAt})), 0)::float8`,
    })
    .from(transfers)
    .where(eq(transfers.status, 'IN_PROGRESS'))
    .groupBy(transfers.direction);
  return rows;
}
