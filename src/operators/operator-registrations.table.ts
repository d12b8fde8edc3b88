import { jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from '../../db/columns.js';

/**
 * Audit of this operator's own registration at the hub: each registerOperator and
 * registerTransferEndPoint it made, with the id the hub gave and what was sent.
 */
export const operatorRegistrations = pgTable('operator_registrations', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** `register_operator` or `register_transfer_endpoints`. */
  step: text('step').$type<'register_operator' | 'register_transfer_endpoints'>().notNull(),
  operatorId: text('operator_id'),
  name: text('name').notNull(),
  detail: jsonb('detail').notNull(),
  requestedBy: text('requested_by'),
  createdAt: createdAt(),
});
