import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SessionAudit } from '../src/auth/sessions.service.js';
import { ROLES } from '../src/shared/enums.js';
import { unauthorized } from '../src/shared/errors.js';
import { problems } from './schemas.js';

const tokenPairSchema = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the access token expires'),
});

const refreshToken = z.string().min(1).max(512);

/** POST /auth/login, /auth/refresh (public); POST /auth/logout, GET /auth/me (Bearer). */
const authRoutes: FastifyPluginAsyncZod = async (app) => {
  /** The security log, for what a login, refresh or logout of this request did. */
  const audit =
    (request: FastifyRequest): SessionAudit =>
    ({ kind, subject, username, detail }) =>
      app.securityEvent(request, {
        kind,
        subject: subject ?? (username ? app.securityLog.usernameSubject(username) : null),
        ...(detail ? { detail } : {}),
      });

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange username and password for a token pair',
        description:
          'Wrong username and wrong password answer the same 401. After too many failures ' +
          'per client address and username the answer is 429 with Retry-After.',
        body: z.strictObject({
          username: z.string().trim().min(1).max(64),
          password: z.string().min(1).max(1024),
        }),
        response: { 200: tokenPairSchema, ...problems(400, 401, 429) },
      },
    },
    async (request) =>
      app.sessions.login(request.body.username, request.body.password, request.ip, audit(request)),
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token into a new token pair',
        description:
          'The presented refresh token is spent. Presenting a spent token again revokes every ' +
          'token of that login.',
        body: z.strictObject({ refresh_token: refreshToken }),
        response: { 200: tokenPairSchema, ...problems(400, 401, 429) },
      },
    },
    async (request) => app.sessions.refresh(request.body?.refresh_token, audit(request)),
  );

  // Child scopes do not inherit the type provider: ask for it again.
  await app.register(async (child) => {
    const protectedScope = child.withTypeProvider<ZodTypeProvider>();
    protectedScope.addHook('onRequest', app.authenticate);

    protectedScope.post(
      '/auth/logout',
      {
        schema: {
          tags: ['auth'],
          summary: 'Revoke the access token at once, and its login',
          security: [{ bearerAuth: [] }],
          body: z.strictObject({ refresh_token: refreshToken.optional() }).nullish(),
          response: { 204: z.null().describe('Logged out'), ...problems(400, 401, 503) },
        },
      },
      async (request, reply) => {
        await app.sessions.logout(request.user, request.body?.refresh_token, audit(request));
        return reply.code(204).send(null);
      },
    );

    protectedScope.get(
      '/auth/me',
      {
        schema: {
          tags: ['auth'],
          summary: 'Who the access token belongs to',
          security: [{ bearerAuth: [] }],
          response: {
            200: z.object({
              id: z.string().describe('A user id; `platform:<sub>` for a platform token'),
              username: z.string(),
              roles: z.array(z.enum(ROLES)),
            }),
            ...problems(401, 503),
          },
        },
      },
      async (request) => {
        const { sub, roles } = request.user;
        // A platform token's user lives at the platform's auth service, not in our table.
        if (sub.startsWith('platform:')) return { id: sub, username: sub.slice(9), roles };
        const user = await app.sessions.whoAmI(sub);
        if (!user) throw unauthorized('UNAUTHORIZED', 'User no longer exists');
        return user;
      },
    );
  });
};

export default authRoutes;
