import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newUserSchema } from '../src/auth/users.service.js';
import { ROLES } from '../src/shared/enums.js';
import { problems } from './schemas.js';

const userSchema = z.object({
  id: z.uuid(),
  username: z.string(),
  roles: z.array(z.enum(ROLES)),
  disabled: z.boolean(),
  created_at: z.iso.datetime(),
});

const byName = z.strictObject({ username: z.string().trim().min(1).max(64) });

/**
 * Users and service accounts, for admins: list, create, disable, enable, delete. Disabling or
 * deleting a user refuses every token it holds at once. `npm run user:*` uses these routes when
 * the embedded service is running (it holds the embedded database).
 */
const userRoutes: FastifyPluginAsyncZod = async (app) => {
  const admin = { onRequest: [app.authenticate, app.authorize('users:manage')] };
  const security = [{ bearerAuth: [] }];
  /** The security log hears of each change, with the admin who made it. */
  const changed = (
    request: FastifyRequest,
    kind: 'user_created' | 'user_disabled' | 'user_enabled' | 'user_deleted',
    userId: string,
    detail: Record<string, string> = {},
  ) =>
    app.securityEvent(request, {
      kind,
      subject: userId,
      detail: { by: request.user.sub, ...detail },
    });

  app.get(
    '/users',
    {
      ...admin,
      schema: {
        tags: ['users'],
        summary: 'Every user and service account',
        security,
        response: { 200: z.object({ items: z.array(userSchema) }), ...problems(401, 403, 503) },
      },
    },
    async () => ({ items: await app.users.list() }),
  );

  app.post(
    '/users',
    {
      ...admin,
      schema: {
        tags: ['users'],
        summary: 'Create a user or service account',
        description:
          'Without `password`, a strong one is generated and returned once, in `password`. ' +
          'A username that exists answers 409 USER_EXISTS.',
        security,
        body: newUserSchema,
        response: {
          201: userSchema.extend({
            password: z.string().optional().describe('The generated password, shown only now'),
          }),
          ...problems(400, 401, 403, 409, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const { user, generatedPassword } = await app.users.create(request.body);
      changed(request, 'user_created', user.id, { roles: user.roles.join(',') });
      reply.code(201).header('cache-control', 'no-store');
      return generatedPassword ? { ...user, password: generatedPassword } : user;
    },
  );

  app.post(
    '/users/:username/disable',
    {
      ...admin,
      schema: {
        tags: ['users'],
        summary: 'Disable a user: no login, no refresh, its tokens refused at once',
        security,
        params: byName,
        response: { 200: userSchema, ...problems(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const user = await app.users.disable(request.params.username);
      changed(request, 'user_disabled', user.id);
      return user;
    },
  );

  app.post(
    '/users/:username/enable',
    {
      ...admin,
      schema: {
        tags: ['users'],
        summary: 'Enable a disabled user (tokens from before the disable stay refused)',
        security,
        params: byName,
        response: { 200: userSchema, ...problems(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const user = await app.users.enable(request.params.username);
      changed(request, 'user_enabled', user.id);
      return user;
    },
  );

  app.delete(
    '/users/:username',
    {
      ...admin,
      schema: {
        tags: ['users'],
        summary: 'Delete a user and its refresh tokens; audit rows that name it are kept',
        security,
        params: byName,
        response: { 204: z.null().describe('Deleted'), ...problems(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const deleted = await app.users.delete(request.params.username);
      changed(request, 'user_deleted', deleted.id);
      return reply.code(204).send(null);
    },
  );
};

export default userRoutes;
