import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HubError } from '../src/hub/client.js';
import type { RegistrationReport } from '../src/operators/registration.service.js';
import { upstreamUnavailable } from '../src/shared/errors.js';
import { problems } from './schemas.js';

const reportSchema = z.object({
  name: z.string(),
  operator_id: z.string().nullable(),
  listed: z.boolean().describe("The hub's directory lists this operator (by id)"),
  transfer_url: z.string().nullable().describe('Our transfer endpoint as the directory has it'),
  expected_transfer_url: z.string().nullable().describe('As PUBLIC_BASE_URL makes it'),
  registered_now: z.boolean(),
  endpoints_registered_now: z.boolean(),
  changed: z.boolean().describe('Something at the hub changed in this request'),
  notes: z.array(z.string()),
});

const view = (r: RegistrationReport) => ({
  name: r.name,
  operator_id: r.operatorId,
  listed: r.listed,
  transfer_url: r.transferUrl,
  expected_transfer_url: r.expectedTransferUrl,
  registered_now: r.registeredNow,
  endpoints_registered_now: r.endpointsRegisteredNow,
  changed: r.changed,
  notes: r.notes,
});

/** GET and POST /operator/registration: this operator's own registration at the hub (admin). */
const operatorRegistrationRoutes: FastifyPluginAsyncZod = async (app) => {
  const admin = { onRequest: [app.authenticate, app.authorize('operator:register')] };
  const hubFailure = (err: unknown) => {
    if (!(err instanceof HubError)) return err;
    return upstreamUnavailable(
      'GovCarpeta could not answer; retry later',
      err.retryAfterSeconds,
      err,
    );
  };

  app.get(
    '/operator/registration',
    {
      ...admin,
      schema: {
        tags: ['operators'],
        summary: 'What the hub directory says about this operator',
        security: [{ bearerAuth: [] }],
        response: { 200: reportSchema, ...problems(401, 403, 503) },
      },
    },
    async () =>
      view(await app.registration.check().catch((err) => Promise.reject(hubFailure(err)))),
  );

  app.post(
    '/operator/registration',
    {
      ...admin,
      schema: {
        tags: ['operators'],
        summary: 'Register this operator and its transfer endpoints at the hub, if it lacks them',
        description:
          'Never registers the operator twice (the directory has no delete): with OPERATOR_ID set ' +
          'it must be listed; unset, no operator of our name may be listed (409 CONFLICT says ' +
          'which ids are). Then registers our transfer endpoints, built from PUBLIC_BASE_URL, ' +
          'unless the directory has them. A second call changes nothing and says so.',
        security: [{ bearerAuth: [] }],
        body: z
          .strictObject({
            address: z.string().trim().min(1).max(300),
            contact_mail: z.email().max(254),
            participants: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
          })
          .transform((b) => ({
            address: b.address,
            contactMail: b.contact_mail,
            participants: b.participants,
          }))
          .nullish()
          .describe('Needed only when this operator is not registered yet'),
        response: { 200: reportSchema, ...problems(400, 401, 403, 409, 415, 503) },
      },
    },
    async (request) => {
      const report = await app.registration
        .register(request.body ?? undefined, request.user.sub)
        .catch((err) => Promise.reject(hubFailure(err)));
      app.securityEvent(request, { kind: 'operator_registered', subject: request.user.sub });
      return view(report);
    },
  );
};

export default operatorRegistrationRoutes;
