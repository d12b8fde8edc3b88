import jwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authMetrics } from '../src/auth/metrics.js';
import { setHashConcurrency } from '../src/auth/passwords.js';
import { allows, type Permission } from '../src/auth/roles.js';
import {
  type AccessClaims,
  denyUserTokens,
  SessionService,
  type VerifiedClaims,
} from '../src/auth/sessions.service.js';
import { hasCanonicalSignature } from '../src/auth/tokens.js';
import { UserAdmin } from '../src/auth/users.service.js';
import type { Settings } from '../src/config/settings.js';
import { AppError, serviceUnavailable, unauthorized } from '../src/shared/errors.js';

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims;
    user: VerifiedClaims;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionService;
    users: UserAdmin;
    /** onRequest hook: a valid, unrevoked access token, or 401/503. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** onRequest hook (after authenticate): the caller's roles allow the permission, or 403. */
    authorize: (permission: Permission) => (request: FastifyRequest) => Promise<void>;
  }
}

const JWT_ERRORS: Record<string, [code: 'UNAUTHORIZED' | 'TOKEN_EXPIRED', detail: string]> = {
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: ['UNAUTHORIZED', 'Missing bearer token'],
  FST_JWT_BAD_REQUEST: ['UNAUTHORIZED', 'Authorization header must be "Bearer <token>"'],
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: ['TOKEN_EXPIRED', 'Access token has expired; refresh it'],
};

/** JWT (HS256 pinned, iss/aud checked), the revocation check, role checks and user admin. */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    await app.register(jwt, {
      secret: config.JWT_SECRET,
      sign: {
        algorithm: 'HS256',
        iss: tuning.jwt.issuer,
        aud: tuning.jwt.audience,
        expiresIn: config.ACCESS_TOKEN_TTL_SECONDS, // seconds (@fastify/jwt converts)
      },
      verify: {
        algorithms: ['HS256'],
        allowedIss: tuning.jwt.issuer,
        allowedAud: tuning.jwt.audience,
        requiredClaims: ['sub', 'jti', 'fid', 'roles', 'iat', 'exp'],
        // Clients reuse a token for its whole life: remember verified tokens (fast-jwt's LRU,
        // each entry only until the token's own expiry) instead of checking the HMAC and claims
        // on every request. Revocation is still checked on every request, in Redis.
        cache: 10_000,
      },
    });

    setHashConcurrency(tuning.login.hashConcurrency);
    const metrics = authMetrics(app.registry);
    const sessions = new SessionService({
      db: app.db,
      store: app.store,
      sign: (claims) => app.jwt.sign(claims),
      accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      maxLoginFailures: tuning.login.maxFailures,
      loginFailureWindowSeconds: tuning.login.failureWindowSeconds,
      onLoginFailed: () => metrics.loginFailures.inc(),
      onTokensRevoked: (reason) => metrics.tokensRevoked.inc({ reason }),
    });
    app.decorate('sessions', sessions);
    app.decorate(
      'users',
      new UserAdmin(app.db, async (userId) => {
        await denyUserTokens(app.store, userId, config.ACCESS_TOKEN_TTL_SECONDS);
        metrics.tokensRevoked.inc({ reason: 'user_disabled' });
      }),
    );

    app.decorate('authenticate', async (request: FastifyRequest) => {
      try {
        await request.jwtVerify();
      } catch (err) {
        const [code, detail] = JWT_ERRORS[(err as { code?: string }).code ?? ''] ?? [
          'UNAUTHORIZED',
          'Access token is invalid',
        ];
        throw unauthorized(code, detail);
      }
      const claims = request.user;
      if (
        !Array.isArray(claims.roles) ||
        typeof claims.fid !== 'string' ||
        // jwtVerify accepted "Bearer <token>", so the token is what follows the one space.
        !hasCanonicalSignature(request.headers.authorization?.slice(7) ?? '')
      ) {
        throw unauthorized('UNAUTHORIZED', 'Access token is invalid');
      }
      let revoked: boolean;
      try {
        revoked = await sessions.isRevoked(claims);
      } catch (err) {
        // Fail closed: a token we cannot check is not accepted.
        request.log.error({ err }, 'token revocation check failed');
        throw serviceUnavailable('Token revocation cannot be checked right now; retry shortly');
      }
      if (revoked) throw unauthorized('TOKEN_REVOKED', 'Access token has been revoked');
    });

    app.decorate('authorize', (permission: Permission) => async (request: FastifyRequest) => {
      if (!allows(request.user.roles, permission)) {
        throw new AppError('FORBIDDEN', `Your roles do not allow ${permission}`);
      }
    });
  },
  { name: 'auth', dependencies: ['db', 'redis', 'metrics'] },
);
