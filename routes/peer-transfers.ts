import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../src/shared/errors.js';
import {
  citizenEmail,
  citizenName,
  peerCitizenId,
  peerDocuments,
  peerUrl,
  type TransferLimits,
} from '../src/transfers/schemas.js';
import { problems } from './schemas.js';

export interface PeerRouteOptions extends TransferLimits {
  /** Largest body of a transferCitizen (50 documents of 2 KiB URLs need more than the default). */
  bodyLimitBytes: number;
}

/**
 * The two public endpoints of the operator-to-operator protocol (interop.md §3), outside
 * `/api/v1` and with no bearer token (peers have none): POST /api/transferCitizen and
 * POST /api/transferCitizenConfirm (src/app/api.ts gives them a rate limit of their own).
 */
const peerTransferRoutes: FastifyPluginAsyncZod<PeerRouteOptions> = async (app, o) => {
  const url = peerUrl(o);
  const documents = peerDocuments(o);

  app.post(
    '/transferCitizen',
    {
      bodyLimit: o.bodyLimitBytes,
      schema: {
        tags: ['peers'],
        summary: 'Another operator sends us a citizen (public: no token)',
        description:
          'The transfer protocol of interop.md §3, with the spellings of every cohort: ' +
          '`urlDocuments` or `Documents` as `{title: [url]}`, `{title: url}` or `[url]`; ' +
          '`confirmAPI`, `confirmationURL` or `callbackUrl`; `id` as a number or a digit ' +
          'string. Other fields are ignored. 202 at once; the citizen is registered with us ' +
          'after the documents are stored and the hub shows it free, then the callback is told ' +
          '`req_status` 1 (or 0 on failure). A repeat for a citizen in progress answers the same ' +
          'transfer; a citizen registered with us is a 409; a callback URL this service will not ' +
          'call is a 422.',
        body: z
          .object({
            id: peerCitizenId,
            citizenName,
            citizenEmail,
            urlDocuments: documents.optional(),
            Documents: documents.optional(),
            confirmAPI: url.optional(),
            confirmationURL: url.optional(),
            callbackUrl: url.optional(),
          })
          .superRefine((b, ctx) => {
            if (!b.confirmAPI && !b.confirmationURL && !b.callbackUrl) {
              ctx.addIssue({
                code: 'custom',
                path: ['confirmAPI'],
                message: 'is required (or confirmationURL, or callbackUrl)',
              });
            }
          })
          .transform((b) => ({
            citizenId: b.id,
            citizenName: b.citizenName,
            citizenEmail: b.citizenEmail,
            documents: b.urlDocuments ?? b.Documents ?? [],
            confirmUrl: (b.confirmAPI ?? b.confirmationURL ?? b.callbackUrl) as string,
          })),
        response: {
          202: z.object({ received: z.literal(true), transfer_id: z.uuid() }),
          ...problems(400, 409, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      try {
        const { transfer } = await app.transfers.receive(request.body);
        return reply.code(202).send({ received: true, transfer_id: transfer.id });
      } catch (err) {
        if (err instanceof AppError && err.code === 'PEER_URL_REFUSED') {
          // who asked us to call where we will not: the reason, never the URL
          app.securityEvent(request, {
            kind: 'peer_callback_refused',
            detail: { reason: err.message },
          });
        }
        throw err;
      }
    },
  );

  app.post(
    '/transferCitizenConfirm',
    {
      schema: {
        tags: ['peers'],
        summary: 'Another operator confirms a citizen we sent it (public: no token)',
        description:
          '`req_status` 1: received and registered; 0: failed (the citizen is registered with us ' +
          'again). Applied once to our transfer of that citizen that waits for it; a repeat is ' +
          '200 with no effect; 404 when no transfer of ours waits for it. A 1 is believed only ' +
          'once the hub shows the citizen with another operator.',
        body: z.object({
          id: peerCitizenId,
          req_status: z
            .union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1')])
            .transform((v) => Number(v) as 0 | 1),
        }),
        response: {
          200: z.object({ received: z.literal(true) }),
          ...problems(400, 404, 415, 429, 503),
        },
      },
    },
    async (request) => {
      await app.transfers.confirm(request.body.id, request.body.req_status);
      return { received: true as const };
    },
  );
};

export default peerTransferRoutes;
