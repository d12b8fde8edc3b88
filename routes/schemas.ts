import { z } from 'zod';
import { PROBLEMS, type ProblemCode } from '../src/errors.js';

/** RFC 9457 problem details, as every error response is documented. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    request_id: z.string(),
    instance: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .describe('Problem details (application/problem+json)');

/** The error responses of a route, by status. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema])) as Record<
    number,
    typeof problemSchema
  >;
}

/** 6 to 12 digits, surrounding spaces trimmed. */
export const citizenIdSchema = z
  .string()
  .trim()
  .regex(/^\d{6,12}$/, 'must be 6 to 12 digits')
  .describe('Citizen id: 6 to 12 digits');

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
