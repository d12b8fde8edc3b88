import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { at, createdAt } from '../../db/columns.js';
import { TRANSFER_DIRECTIONS, TRANSFER_STATUSES, TRANSFER_STEPS } from '../shared/enums.js';

export const transferDirectionEnum = pgEnum('transfer_direction', TRANSFER_DIRECTIONS);
export const transferStatusEnum = pgEnum('transfer_status', TRANSFER_STATUSES);
export const transferStepEnum = pgEnum('transfer_step', TRANSFER_STEPS);

/** A document handed over with a citizen: its title and where it can be fetched. */
export interface TransferDocument {
  title: string;
  url: string;
}

/**
 * A citizen moving between operators, either way: a saga whose current step is `step`, run by
 * whichever process claims it (`locked_until`) once it is due (`due_at`). Every step taken is a
 * row of transfer_steps. One transfer in progress per citizen.
 */
export const transfers = pgTable(
  'transfers',
  {
    id: uuid('id').primaryKey(),
    direction: transferDirectionEnum('direction').notNull(),
    citizenId: text('citizen_id').notNull(),
    citizenName: text('citizen_name').notNull(),
    citizenEmail: text('citizen_email').notNull(),
    documents: jsonb('documents').$type<TransferDocument[]>().notNull(),
    /** Out: the destination's directory id. In: the origin's, when its callback host is listed. */
    peerOperatorId: text('peer_operator_id'),
    peerName: text('peer_name'),
    /** Out: the peer's transfer URL. In: the origin's confirmation URL. */
    peerUrl: text('peer_url').notNull(),
    status: transferStatusEnum('status').notNull(),
    step: transferStepEnum('step').notNull(),
    /** Tries of the current step so far. */
    attempts: integer('attempts').notNull().default(0),
    /** The current step runs again (or first) at this time. */
    dueAt: at('due_at').notNull(),
    /** When the current step began: its budget counts from here. */
    stepSince: at('step_since').notNull(),
    /** A claim: the process running the current step holds it until then. */
    lockedUntil: at('locked_until'),
    lockedBy: text('locked_by'),
    /** In: the `req_status` the origin is told (1 received, 0 failed). Out: the one it sent us. */
    reqStatus: smallint('req_status'),
    /** The documents service's answer (in), when it came. */
    documentsStored: jsonb('documents_stored').$type<{ success: boolean; message: string }>(),
    /** Why it failed (or how it ended, when that needs saying). */
    reason: text('reason'),
    requestedBy: text('requested_by'),
    requestId: text('request_id'),
    createdAt: createdAt(),
    updatedAt: createdAt('updated_at'),
    completedAt: at('completed_at'),
  },
  (t) => [
    uniqueIndex('transfers_in_progress_citizen_idx')
      .on(t.citizenId)
      .where(sql`${t.status} = 'IN_PROGRESS'`),
    index('transfers_due_idx').on(t.dueAt).where(sql`${t.status} = 'IN_PROGRESS'`),
    index('transfers_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('transfers_citizen_idx').on(t.citizenId, t.createdAt.desc()),
  ],
);

export type TransferRow = typeof transfers.$inferSelect;

export type StepOutcome = 'started' | 'received' | 'done' | 'retry' | 'failed';

/** Every step a transfer took, with its outcome: the saga's history. */
export const transferSteps = pgTable(
  'transfer_steps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    transferId: uuid('transfer_id')
      .notNull()
      .references(() => transfers.id),
    step: transferStepEnum('step').notNull(),
    /**
     * `started` (the transfer was written), `received` (a confirmation or the documents service's
     * answer came), `done` (the step ended, the next begins), `retry` (it runs again later),
     * `failed` (the step failed for good: what follows is the failure path).
     */
    outcome: text('outcome').$type<StepOutcome>().notNull(),
    attempt: integer('attempt').notNull(),
    detail: text('detail').notNull(),
    at: createdAt('at'),
  },
  (t) => [index('transfer_steps_transfer_idx').on(t.transferId, t.at)],
);

export type TransferStepRow = typeof transferSteps.$inferSelect;
