import { z } from 'zod';
import { defineEvent, type EventBody } from '../messaging/events.js';
import type { AffiliationCheck } from './checks.table.js';

/** Announced for every decision (never for a hub error). */
export const affiliationChecked = defineEvent(
  'affiliation.checked',
  z.object({
    event_type: z.literal('affiliation.checked'),
    check_id: z.uuid(),
    citizen_id: z.string(),
    eligible: z.boolean(),
    status: z.enum(['ELIGIBLE', 'ALREADY_AFFILIATED']),
    timestamp: z.iso.datetime({ offset: true }),
  }),
);

/** The event of a decision (a check that is not an ERROR). */
export function checkedEvent(check: AffiliationCheck): EventBody<typeof affiliationChecked> {
  return {
    event_type: affiliationChecked.routingKey,
    check_id: check.id,
    citizen_id: check.citizenId,
    eligible: check.status === 'ELIGIBLE',
    status: check.status === 'ELIGIBLE' ? 'ELIGIBLE' : 'ALREADY_AFFILIATED',
    timestamp: check.checkedAt.toISOString(),
  };
}
