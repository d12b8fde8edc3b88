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
