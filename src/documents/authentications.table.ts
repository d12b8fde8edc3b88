import { boolean, pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from '../../db/columns.js';
import { type Channel, VERIFICATION_STATUSES } from '../shared/enums.js';

export const verificationStatusEnum = pgEnum('verification_status', VERIFICATION_STATUSES);

/**
 * Audit of every document authentication, over HTTP or from the queue. The document URL is a
 * credential (often pre-signed): only its SHA-256 is kept.
 */
export const documentAuthentications = pgTable('document_authentications', {
  id: uuid('id').primaryKey().defaultRandom(),
  citizenId: text('citizen_id').notNull(),
  documentId: text('document_id'),
  documentTitle: text('document_title').notNull(),
  documentUrlSha256: text('document_url_sha256').notNull(),
  status: verificationStatusEnum('status').notNull(),
  authenticated: boolean('authenticated'),
  message: text('message').notNull(),
  channel: text('channel').$type<Channel>().notNull(),
  /** The request message's id, for authentications asked over RabbitMQ. */
  messageId: text('message_id'),
  requestedBy: text('requested_by'),
  requestId: text('request_id'),
  authenticatedAt: createdAt('authenticated_at'),
});

export type DocumentAuthentication = typeof documentAuthentications.$inferSelect;
