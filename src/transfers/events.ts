import { z } from 'zod';
import { defineEvent } from '../messaging/events.js';
import { TRANSFER_DIRECTIONS } from '../shared/enums.js';

const timestamp = z.iso.datetime({ offset: true });
const document = z.object({ title: z.string(), url: z.string() });

/**
 * For the platform's local services, on the default exchange (routing key = name) and on ours: a
 * citizen we sent away was received by its new operator, so its data here can be purged.
 */
export const userTransferred = defineEvent(
  'user.transferred',
  z.object({ idCitizen: z.number().int() }),
);

/** A transfer ended well, either way (out: confirmed or reconciled; in: registered with us). */
export const transferCompleted = defineEvent(
  'transfer.completed',
  z.object({
    event_type: z.literal('transfer.completed'),
    transfer_id: z.uuid(),
    direction: z.enum(TRANSFER_DIRECTIONS),
    citizen_id: z.string(),
    peer_operator_id: z.string().nullable(),
    /** Out: no confirmation came; validateCitizen showed the citizen with another operator. */
    reconciled: z.boolean(),
    timestamp,
  }),
);

/** A transfer ended without moving the citizen (out: it is registered with us again). */
export const transferFailed = defineEvent(
  'transfer.failed',
  z.object({
    event_type: z.literal('transfer.failed'),
    transfer_id: z.uuid(),
    direction: z.enum(TRANSFER_DIRECTIONS),
    citizen_id: z.string(),
    peer_operator_id: z.string().nullable(),
    reason: z.string(),
    timestamp,
  }),
);

/** For the local documents service: a citizen arrives with these documents to fetch and store. */
export const transferCitizenReceived = defineEvent(
  'transfer.citizen.received',
  z.object({
    transfer_id: z.uuid(),
    idCitizen: z.number().int(),
    citizenName: z.string(),
    citizenEmail: z.string(),
    documents: z.array(document),
  }),
);

/** The documents service's answer to `transfer.citizen.received` (consumed from our exchange). */
export const transferDocumentsStored = defineEvent(
  'transfer.documents.stored',
  z.object({
    transfer_id: z.uuid(),
    success: z.boolean(),
    message: z.string().max(2000).default(''),
  }),
);
