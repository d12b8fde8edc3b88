import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

export const ROLES = ['admin', 'operator', 'service', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const roleEnum = pgEnum('role', ROLES);

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Stored lower-case; login is case-insensitive on the username. */
  username: text('username').notNull().unique(),
  /** scrypt, self-describing (`scrypt$N$r$p$salt$hash`). */
  passwordHash: text('password_hash').notNull(),
  roles: roleEnum('roles').array().notNull().default(sql`'{}'::role[]`),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  createdAt: createdAt(),
});

/**
 * Refresh tokens are opaque to clients and stored as SHA-256 hashes. All tokens issued from one
 * login share a family; presenting a spent token revokes the whole family.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull().unique(),
    familyId: uuid('family_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
  ],
);

export const DOCUMENT_TYPES = ['CC', 'TI', 'CE', 'PA', 'RC', 'NIT', 'PEP', 'PPT'] as const;
export const AFFILIATION_TYPES = ['CONTRIBUTIVO', 'SUBSIDIADO'] as const;
export const CHECK_STATUSES = ['ELIGIBLE', 'ALREADY_AFFILIATED', 'ERROR'] as const;
export const VERIFICATION_STATUSES = ['VERIFIED', 'REJECTED', 'ERROR'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

export const documentTypeEnum = pgEnum('document_type', DOCUMENT_TYPES);
export const affiliationTypeEnum = pgEnum('affiliation_type', AFFILIATION_TYPES);
export const checkStatusEnum = pgEnum('check_status', CHECK_STATUSES);
export const verificationStatusEnum = pgEnum('verification_status', VERIFICATION_STATUSES);

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
    /** `hub`: asked now; `cache`: a recent answer reused. */
    source: text('source').$type<'hub' | 'cache'>().notNull(),
    requestedBy: text('requested_by'),
    requestId: text('request_id'),
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('affiliation_checks_citizen_idx').on(t.citizenId, t.checkedAt.desc(), t.id.desc()),
    index('affiliation_checks_time_idx').on(t.checkedAt.desc(), t.id.desc()),
  ],
);

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
  /** `http` or `amqp`. */
  channel: text('channel').$type<'http' | 'amqp'>().notNull(),
  /** The request message's id, for authentications asked over RabbitMQ. */
  messageId: text('message_id'),
  requestedBy: text('requested_by'),
  requestId: text('request_id'),
  authenticatedAt: timestamp('authenticated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Transactional outbox: written in the same transaction as the row an event describes, published
 * by the relay after commit, marked sent only on the broker's confirm.
 */
export const outbox = pgTable(
  'outbox',
  {
    /** The event id: AMQP messageId and CloudEvents `ce-id`. */
    id: uuid('id').primaryKey(),
    routingKey: text('routing_key').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [index('outbox_pending_idx').on(t.createdAt).where(sql`${t.sentAt} is null`)],
);

/** Answers of POSTs sent with an Idempotency-Key, per caller and route. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    principal: text('principal').notNull(),
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    response: jsonb('response').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.scope, t.key] })],
);

/** Messages the worker has handled, by messageId: a redelivery is not processed twice. */
export const inbox = pgTable('inbox', {
  messageId: text('message_id').primaryKey(),
  authenticationId: uuid('authentication_id').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});

export type User = typeof users.$inferSelect;
export type RefreshToken = typeof refreshTokens.$inferSelect;
export type AffiliationCheck = typeof affiliationChecks.$inferSelect;
export type DocumentAuthentication = typeof documentAuthentications.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;
