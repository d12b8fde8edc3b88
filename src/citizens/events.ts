import { z } from 'zod';
import { defineEvent } from '../messaging/events.js';
import { CITIZEN_ID } from '../shared/citizen.js';

const timestamp = z.iso.datetime({ offset: true });

/** Announced when the hub registered a citizen with this operator. */
export const citizenRegistered = defineEvent(
  'citizen.registered',
  z.object({
    event_type: z.literal('citizen.registered'),
    citizen_id: z.string(),
    operator_id: z.string(),
    action_id: z.uuid(),
    timestamp,
  }),
);

/** Announced when the hub unregistered a citizen of this operator. */
export const citizenUnregistered = defineEvent(
  'citizen.unregistered',
  z.object({
    event_type: z.literal('citizen.unregistered'),
    citizen_id: z.string(),
    operator_id: z.string(),
    action_id: z.uuid(),
    timestamp,
  }),
);

/** A citizen id as neighbours send it: a number or a string of digits. */
const citizenId = z
  .union([z.string().trim().regex(CITIZEN_ID), z.number().int().min(100_000).max(999_999_999_999)])
  .transform(String);
const operatorId = z.string().trim().min(1).max(200).optional();
const operatorName = z.string().trim().min(1).max(200).optional();

/** `register.citizen.requested`, from the platform's affiliation service (its field names). */
export const registerCitizenRequested = defineEvent(
  'register.citizen.requested',
  z.object({
    id: citizenId,
    name: z.string().trim().min(1).max(200),
    address: z.string().trim().min(1).max(300),
    email: z.email().max(254),
    operatorId,
    operatorName,
  }),
);

/** `unregister.citizen.requested`, from the platform's affiliation service. */
export const unregisterCitizenRequested = defineEvent(
  'unregister.citizen.requested',
  z.object({ id: citizenId, operatorId, operatorName }),
);

/**
 * The answer to `register.citizen.requested`: the hub's status (201 registered, 501 already
 * registered), 403 for another operator's request (not sent to the hub), 503 when the hub stayed
 * unavailable through the retry budget.
 */
export const registerCitizenCompleted = defineEvent(
  'register.citizen.completed',
  z.object({
    id: z.number().int(),
    statusCode: z.literal([201, 501, 403, 503]),
    message: z.string(),
  }),
);

/** The answer to `unregister.citizen.requested`. */
export const unregisterCitizenCompleted = defineEvent(
  'unregister.citizen.completed',
  z.object({
    id: z.number().int(),
    operatorId: z.string(),
    success: z.boolean(),
    message: z.string(),
  }),
);
