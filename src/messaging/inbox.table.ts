import { pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from '../../db/columns.js';

/** Request messages the worker has handled, by messageId: a redelivery is not handled twice. */
export const inbox = pgTable('inbox', {
  messageId: text('message_id').primaryKey(),
  /** The row the handling wrote (a document authentication). */
  authenticationId: uuid('authentication_id').notNull(),
  receivedAt: createdAt('received_at'),
});
