import { createHmac, createSecretKey } from 'node:crypto';
import { z } from 'zod';

/** A citizen id as the hub knows it: 6 to 12 digits. */
export const CITIZEN_ID = /^\d{6,12}$/;

/** A citizen id in a request: 6 to 12 digits, surrounding spaces trimmed. */
export const citizenIdSchema = z
  .string()
  .trim()
  .regex(CITIZEN_ID, 'must be 6 to 12 digits')
  .describe('Citizen id: 6 to 12 digits');

/**
 * Citizen ids are personal data: logs and Redis keys carry a keyed hash instead ("citizen ref"),
 * stable for one secret so that lines about one citizen can still be correlated. The key is a
 * KeyObject made once (a Buffer key is imported again on every call, several times slower).
 */
export function citizenRefs(secret: string): (citizenId: string) => string {
  const key = createSecretKey(createHmac('sha256', secret).update('citizen-ref/v1').digest());
  return (citizenId) =>
    createHmac('sha256', key).update(citizenId).digest('base64url').slice(0, 22);
}
