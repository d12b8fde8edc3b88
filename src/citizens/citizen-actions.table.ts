import { index, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from '../../db/columns.js';
import { ACTION_OUTCOMES, type Channel, CITIZEN_ACTIONS } from '../shared/enums.js';

export const citizenActionEnum = pgEnum('citizen_action', CITIZEN_ACTIONS);
export const actionOutcomeEnum = pgEnum('action_outcome', ACTION_OUTCOMES);

/**
 * Audit of every registration and unregistration asked of the hub, over HTTP or from the queue,
 * hub failures included: written PENDING before the hub is asked, completed with its answer.
 */
export const citizenActions = pgTable(
  'citizen_actions',
  {
    id: uuid('id').primaryKey(),
    citizenId: text('citizen_id').notNull(),
    action: citizenActionEnum('action').notNull(),
    outcome: actionOutcomeEnum('outcome').notNull(),
    /** The hub's status code, when it answered. */
    hubStatus: integer('hub_status'),
    /** `validateCitizen` when the hub's own answer was ambiguous and that settled it. */
    settledBy: text('settled_by'),
    /** registerCitizen/unregisterCitizen calls made. */
    attempts: integer('attempts').notNull().default(0),
    message: text('message').notNull(),
    channel: text('channel').$type<Channel>().notNull(),
    /** The request message's id (queue): a redelivery finds its action here. */
    messageId: text('message_id'),
    requestedBy: text('requested_by'),
    requestId: text('request_id'),
    createdAt: createdAt(),
    completedAt: at('completed_at'),
  },
  (t) => [
    index('citizen_actions_citizen_idx').on(t.citizenId, t.createdAt.desc()),
    uniqueIndex('citizen_actions_message_idx').on(t.messageId),
  ],
);

export type CitizenActionRow = typeof citizenActions.$inferSelect;
