import { createHmac } from 'node:crypto';

/**
 * Citizen ids are personal data: logs and Redis keys carry a keyed hash instead ("citizen ref"),
 * stable for one secret so that lines about one citizen can still be correlated.
 */
export function citizenRefs(secret: string): (citizenId: string) => string {
  const key = createHmac('sha256', secret).update('citizen-ref/v1').digest();
  return (citizenId) =>
    createHmac('sha256', key).update(citizenId).digest('base64url').slice(0, 22);
}
