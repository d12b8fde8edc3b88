import { z } from 'zod';
import { problemSchema } from '../plugins/errors.js';
import { cursorSchema } from '../src/shared/cursor.js';

/** The error responses of a route, by status. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema])) as Record<
    number,
    typeof problemSchema
  >;
}

/** The Idempotency-Key header of the POSTs that change state. */
export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
    .optional()
    .describe(
      'Same key and same body within 24 h: the first answer is replayed (no new decision). Same key, other body: 409.',
    ),
});

/** `limit` and `cursor` of a newest-first history. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema.optional(),
};
