import { boolean, index, pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from '../../db/columns.js';
import {
  AFFILIATION_TYPES,
  CHECK_STATUSES,
  type CheckSource,
  DOCUMENT_TYPES,
} from '../shared/enums.js';

export const documentTypeEnum = pgEnum('document_type', DOCUMENT_TYPES);
export const affiliationTypeEnum = pgEnum('affiliation_type', AFFILIATION_TYPES);
export const checkStatusEnum = pgEnum('check_status', CHECK_STATUSES);

/** Audit of every affiliation check, hub errors included (status ERROR, eligible null). */
export const affiliationChecks = pgTable(
  'affiliation_checks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    citizenId: text('citizen_id').notNull(),
    documentType: documentTypeEnum('document_type').notNull(),
    affiliationType: affiliationTypeEnum('affiliation_type'),
    status: checkStatusEnum('status').notNull(),
    eligible: boolean('eligible'),
    reason: text('reason').notNull(),
    source: text('source').$type<CheckSource>().notNull(),
    requestedBy: text('requested_by'),
    requestId: text('request_id'),
    checkedAt: createdAt('checked_at'),
  },
  (t) => [
    index('affiliation_checks_citizen_idx').on(t.citizenId, t.checkedAt.desc(), t.id.desc()),
    index('affiliation_checks_time_idx').on(t.checkedAt.desc(), t.id.desc()),
  ],
);

export type AffiliationCheck = typeof affiliationChecks.$inferSelect;
