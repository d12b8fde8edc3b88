import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HubError } from '../src/hub/client.js';
import { upstreamUnavailable } from '../src/shared/errors.js';
import { problems } from './schemas.js';

/** GET /operators: the hub's operator directory, normalised. */
const operatorRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/operators',
    {
      onRequest: [app.authenticate, app.authorize('operators:read')],
      schema: {
        tags: ['operators'],
        summary: "The hub's operator directory",
        description:
          'Read tolerantly (either key casing, trimmed names and URLs; unreadable entries left ' +
          'out) and kept for OPERATORS_CACHE_TTL_SECONDS. When the hub fails, the last copy is ' +
          'served with `stale: true`; with none, 503. Operators are told apart by `operator_id`: ' +
          'names repeat.',
        security: [{ bearerAuth: [] }],
        response: {
          200: z.object({
            items: z.array(
              z.object({
                operator_id: z.string(),
                name: z.string(),
                transfer_url: z.string().nullable(),
                accepts_transfers: z.boolean(),
              }),
            ),
            stale: z.boolean(),
            fetched_at: z.iso.datetime(),
          }),
          ...problems(401, 403, 429, 503),
        },
      },
    },
    async () => {
      try {
        const view = await app.directory.list();
        return {
          items: view.operators.map((o) => ({
            operator_id: o.operatorId,
            name: o.name,
            transfer_url: o.transferUrl,
            accepts_transfers: o.transferUrl !== null,
          })),
          stale: view.stale,
          fetched_at: view.fetchedAt.toISOString(),
        };
      } catch (err) {
        if (!(err instanceof HubError)) throw err;
        throw upstreamUnavailable(
          'GovCarpeta could not give its directory; retry later',
          err.retryAfterSeconds,
          err,
        );
      }
    },
  );
};

export default operatorRoutes;
