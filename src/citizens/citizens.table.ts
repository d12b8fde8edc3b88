import { pgEnum, pgTable, text } from 'drizzle-orm/pg-core';
import { at, createdAt } from '../../db/columns.js';
import { CITIZEN_STATUSES } from '../shared/enums.js';

export const citizenStatusEnum = pgEnum('citizen_status', CITIZEN_STATUSES);

/** This operator's record of a citizen it registered at the hub (and whether it still holds it). */
export const citizens = pgTable('citizens', {
  citizenId: text('citizen_id').primaryKey(),
  name: text('name').notNull(),
  address: text('address').notNull(),
  email: text('email').notNull(),
  status: citizenStatusEnum('status').notNull(),
  /** The operator id it was registered under (ours, when it was registered). */
  operatorId: text('operator_id').notNull(),
  registeredAt: at('registered_at').notNull(),
  unregisteredAt: at('unregistered_at'),
  updatedAt: createdAt('updated_at'),
});

export type Citizen = typeof citizens.$inferSelect;
