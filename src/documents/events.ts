import { z } from 'zod';
import { defineEvent, type EventBody } from '../messaging/events.js';
import { CITIZEN_ID } from '../shared/citizen.js';
import type { DocumentAuthentication } from './authentications.table.js';

const timestamp = z.iso.datetime({ offset: true });

/** Announced for every decision over HTTP (never for a hub error). */
export const documentAuthenticated = defineEvent(
  'document.authenticated',
  z.object({
    event_type: z.literal('document.authenticated'),
    authentication_id: z.uuid(),
    citizen_id: z.string(),
    document_id: z.string().nullable(),
    authenticated: z.boolean(),
    timestamp,
  }),
);

/** The event of a decision over HTTP (an authentication that is not an ERROR). */
export function authenticatedEvent(
  row: DocumentAuthentication,
): EventBody<typeof documentAuthenticated> {
  return {
    event_type: documentAuthenticated.routingKey,
    authentication_id: row.id,
    citizen_id: row.citizenId,
    document_id: row.documentId,
    authenticated: row.status === 'VERIFIED',
    timestamp: row.authenticatedAt.toISOString(),
  };
}

/** The answer to a queued request: the documents service's contract (its field names). */
export const authenticationCompleted = defineEvent(
  'document.authentication.completed',
  z.object({
    messageId: z.string(),
    documentId: z.string(),
    idCitizen: z.string(),
    authenticated: z.boolean(),
    message: z.string(),
    authenticatedAt: timestamp,
  }),
);

const idLike = z.union([z.string().trim().min(1).max(200), z.number().int().nonnegative()]);
const documentUrl = z
  .url({ protocol: /^https?$/ })
  .max(4096)
  .optional();

/**
 * `document.authentication.requested`, as other services send it: ids may be numbers or strings,
 * and the URL may be spelled `urlDocument` or (like the hub) `UrlDocument`.
 */
export const authenticationRequested = defineEvent(
  'document.authentication.requested',
  z
    .object({
      messageId: idLike,
      documentId: idLike,
      idCitizen: z.union([z.string().trim().regex(CITIZEN_ID), z.number().int().min(100_000)]),
      urlDocument: documentUrl,
      UrlDocument: documentUrl,
      documentTitle: z.string().trim().min(1).max(300),
    })
    .refine((m) => m.urlDocument !== undefined || m.UrlDocument !== undefined, {
      message: 'urlDocument is required',
      path: ['urlDocument'],
    })
    .transform((m) => ({
      messageId: String(m.messageId),
      documentId: String(m.documentId),
      citizenId: String(m.idCitizen),
      documentUrl: (m.urlDocument ?? m.UrlDocument) as string,
      documentTitle: m.documentTitle,
    })),
);
export type AuthenticationRequest = z.output<(typeof authenticationRequested)['schema']>;
