import { createHmac, createSecretKey } from 'node:crypto';

/**
 * Citizen ids are personal data: logs and Redis keys carry a keyed hash instead ("citizen ref"),
 * stable for one secret so that lines about one citizen can still be correlated.
 *
 * The key is a KeyObject made once: given a Buffer, `createHmac` imports the key anew on every
 * call, which on Node 24 costs 16 µs per hash against 2.7 µs with a KeyObject.
 */
export function citizenRefs(secret: string): (citizenId: string) => string {
  const key = createSecretKey(createHmac('sha256', secret).update('citizen-ref/v1').digest());
  return (citizenId) =>
    createHmac('sha256', key).update(citizenId).digest('base64url').slice(0, 22);
}
