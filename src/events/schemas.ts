import { z } from 'zod';

/**
 * Every event body this service publishes or consumes, as zod schemas. The relay and the worker
 * use these; docs/asyncapi.yaml describes the same shapes and a test keeps the two equal.
 */

export const ROUTING_KEYS = {
  affiliationChecked: 'affiliation.checked',
  documentAuthenticated: 'document.authenticated',
  authenticationRequested: 'document.authentication.requested',
  authenticationCompleted: 'document.authentication.completed',
} as const;
export type RoutingKey = (typeof ROUTING_KEYS)[keyof typeof ROUTING_KEYS];

const timestamp = z.iso.datetime({ offset: true });

export const affiliationCheckedEvent = z.object({
  event_type: z.literal(ROUTING_KEYS.affiliationChecked),
  check_id: z.uuid(),
  citizen_id: z.string(),
  eligible: z.boolean(),
  status: z.enum(['ELIGIBLE', 'ALREADY_AFFILIATED']),
  timestamp,
});

export const documentAuthenticatedEvent = z.object({
  event_type: z.literal(ROUTING_KEYS.documentAuthenticated),
  authentication_id: z.uuid(),
  citizen_id: z.string(),
  document_id: z.string().nullable(),
  authenticated: z.boolean(),
  timestamp,
});

/** The documents service's contract (camelCase, its field names). */
export const authenticationCompletedEvent = z.object({
  messageId: z.string(),
  documentId: z.string(),
  idCitizen: z.string(),
  authenticated: z.boolean(),
  message: z.string(),
  authenticatedAt: timestamp,
});

const idLike = z.union([z.string().trim().min(1).max(200), z.number().int().nonnegative()]);

/**
 * `document.authentication.requested`, as other services send it: ids may be numbers or strings,
 * and the URL may be spelled `urlDocument` or (like the hub) `UrlDocument`.
 */
export const authenticationRequestedMessage = z
  .object({
    messageId: idLike,
    documentId: idLike,
    idCitizen: z.union([
      z
        .string()
        .trim()
        .regex(/^\d{6,12}$/),
      z.number().int().min(100_000),
    ]),
    urlDocument: z
      .url({ protocol: /^https?$/ })
      .max(4096)
      .optional(),
    UrlDocument: z
      .url({ protocol: /^https?$/ })
      .max(4096)
      .optional(),
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
  }));
export type AuthenticationRequest = z.output<typeof authenticationRequestedMessage>;

export const EVENT_SCHEMAS = {
  [ROUTING_KEYS.affiliationChecked]: affiliationCheckedEvent,
  [ROUTING_KEYS.documentAuthenticated]: documentAuthenticatedEvent,
  [ROUTING_KEYS.authenticationCompleted]: authenticationCompletedEvent,
} as const;
export type PublishedKey = keyof typeof EVENT_SCHEMAS;
export type EventBody<K extends PublishedKey> = z.input<(typeof EVENT_SCHEMAS)[K]>;
