import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listSecurityEvents } from '../src/security/security-events.repository.js';
import { SECURITY_EVENT_KINDS } from '../src/security/security-log.js';
import { problems } from './schemas.js';

const eventSchema = z.object({
  seq: z.number().int().describe('Its place in the hash chain (1, 2, 3…)'),
  at: z.iso.datetime(),
  kind: z.enum(SECURITY_EVENT_KINDS),
  subject: z
    .string()
    .nullable()
    .describe('A user id, `platform:<sub>`, or `username:<keyed hash>` for a name no user has'),
  source: z.string().nullable().describe('The client address'),
  request_id: z.string().nullable(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  hash: z.string().describe('HMAC over this event and the previous hash (npm run audit:verify)'),
});

/** GET /api/v1/security-events: the security log, for auditors and admins. */
const securityEventRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/security-events',
    {
      onRequest: [app.authenticate, app.authorize('security:read')],
      schema: {
        tags: ['security'],
        summary: 'The security log, newest first',
        description:
          'Logins, refresh rotations and reuse, logouts, denied requests (401/403 by route and ' +
          'reason), user changes, operator registration, refused peer callbacks. Filter by ' +
          '`kind`, `subject` and time (`since`, `until`); pass `next_cursor` back as `cursor`.',
        security: [{ bearerAuth: [] }],
        querystring: z.strictObject({
          kind: z.enum(SECURITY_EVENT_KINDS).optional(),
          subject: z.string().min(1).max(200).optional(),
          since: z.iso.datetime().optional(),
          until: z.iso.datetime().optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z
            .string()
            .regex(/^[1-9]\d{0,15}$/, 'is not a cursor from a previous page')
            .optional(),
        }),
        response: {
          200: z.object({ items: z.array(eventSchema), next_cursor: z.string().nullable() }),
          ...problems(400, 401, 403, 429, 503),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listSecurityEvents(app.db, {
        kind: q.kind,
        subject: q.subject,
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
        before: q.cursor ? Number(q.cursor) : undefined,
        limit: q.limit + 1,
      });
      const items = rows.slice(0, q.limit).map((r) => ({
        seq: r.seq,
        at: r.at.toISOString(),
        kind: r.kind as (typeof SECURITY_EVENT_KINDS)[number],
        subject: r.subject,
        source: r.source,
        request_id: r.requestId,
        detail: r.detail,
        hash: r.hash,
      }));
      const next = rows.length > q.limit ? String(items.at(-1)?.seq) : null;
      return { items, next_cursor: next };
    },
  );
};

export default securityEventRoutes;
