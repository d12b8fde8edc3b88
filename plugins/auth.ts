import jwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { secretFor, signingKeys, unverifiedIssuer } from '../src/auth/keys.js';
import { authMetrics } from '../src/auth/metrics.js';
import { setHashConcurrency } from '../src/auth/passwords.js';
import {
  PLATFORM_ALGORITHMS,
  PlatformKeyError,
  PlatformKeys,
  platformClaims,
} from '../src/auth/platform-tokens.js';
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
  interface FastifyRequest {
    /** The platform auth service's verifier (registered only with AUTH_ISSUER). */
    platformJwtVerify: <T>() => Promise<T>;
  }
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

/**
 * JWT (HS256 pinned, iss/aud checked, signing keys that rotate: src/auth/keys.ts), optionally the
 * platform auth service's tokens (src/auth/platform-tokens.ts), the revocation check, role checks
 * and user admin.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const keys = signingKeys(config.JWT_SECRET, config.jwtPreviousSecrets);
    await app.register(jwt, {
      // Signed with the current secret; verified with the one the token's kid names.
      secret: {
        private: keys.current.secret,
        public: (_request, token, done) => {
          const secret = secretFor(keys, headerOf(token).kid);
          if (secret === undefined) done(new UnknownKeyError(), undefined);
          else done(null, secret);
        },
      },
      decode: { complete: true },
      sign: {
        algorithm: 'HS256',
        kid: keys.current.kid,
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

    const platform = config.authRoleMap;
    if (platform) await registerPlatformVerifier(app, config, tuning.platformTokens);

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

    /** A 401 or 403, recorded in the security log with its route and reason. */
    const denied = (
      request: FastifyRequest,
      err: AppError,
      subject?: string,
      permission?: string,
    ) => {
      app.securityEvent(request, {
        kind: 'access_denied',
        subject: subject ?? null,
        detail: {
          route: request.routeOptions.url ?? request.url.split('?')[0] ?? '',
          method: request.method,
          reason: err.code,
          ...(permission ? { permission } : {}),
        },
      });
      return err;
    };

    app.decorate('authenticate', async (request: FastifyRequest) => {
      // jwtVerify accepts "Bearer <token>", so the token is what follows the one space.
      const token = request.headers.authorization?.slice(7) ?? '';
      try {
        if (platform && unverifiedIssuer(token) === config.AUTH_ISSUER) {
          request.user = platformClaims(await request.platformJwtVerify(), platform);
        } else await request.jwtVerify();
      } catch (err) {
        if (err instanceof PlatformKeyError)
          request.log.warn({ reason: err.message }, 'platform token refused');
        const [code, detail] = JWT_ERRORS[(err as { code?: string }).code ?? ''] ?? [
          'UNAUTHORIZED',
          'Access token is invalid',
        ];
        throw denied(request, unauthorized(code, detail));
      }
      const claims = request.user;
      if (
        !Array.isArray(claims.roles) ||
        typeof claims.fid !== 'string' ||
        !hasCanonicalSignature(token)
      ) {
        throw denied(request, unauthorized('UNAUTHORIZED', 'Access token is invalid'));
      }
      let revoked: boolean;
      try {
        revoked = await sessions.isRevoked(claims);
      } catch (err) {
        // Fail closed: a token we cannot check is not accepted.
        request.log.error({ err }, 'token revocation check failed');
        throw serviceUnavailable('Token revocation cannot be checked right now; retry shortly');
      }
      if (revoked) {
        throw denied(
          request,
          unauthorized('TOKEN_REVOKED', 'Access token has been revoked'),
          claims.sub,
        );
      }
    });

    app.decorate('authorize', (permission: Permission) => async (request: FastifyRequest) => {
      if (!allows(request.user.roles, permission)) {
        const forbidden = new AppError('FORBIDDEN', `Your roles do not allow ${permission}`);
        throw denied(request, forbidden, request.user.sub, permission);
      }
    });
  },
  { name: 'auth', dependencies: ['db', 'redis', 'metrics', 'security-log'] },
);

/** The JOSE header of what @fastify/jwt hands a key callback (the decoded token, or its header). */
function headerOf(token: unknown): { alg?: unknown; kid?: unknown } {
  const t = token as { header?: { alg?: unknown; kid?: unknown } };
  return t.header ?? (token as { alg?: unknown; kid?: unknown });
}

/** A token whose kid names no secret we hold (a retired one, or not ours). */
class UnknownKeyError extends Error {
  readonly code = 'FST_JWT_AUTHORIZATION_TOKEN_INVALID';
}

/**
 * The platform auth service's tokens: verified with its JWKS, asymmetric algorithms only, its
 * issuer and our audience checked, and a `jti` required (revocation applies to them too).
 */
async function registerPlatformVerifier(
  app: Parameters<Parameters<typeof fp<Settings>>[0]>[0],
  config: Settings['config'],
  t: Settings['tuning']['platformTokens'],
): Promise<void> {
  const keys = new PlatformKeys({ jwksUrl: config.AUTH_JWKS_URL, ...t });
  await app.register(jwt, {
    namespace: 'platform',
    jwtVerify: 'platformJwtVerify',
    secret: {
      public: (_request, token, done) => {
        keys.keyFor(headerOf(token)).then(
          (key) => done(null, key),
          (err: Error) => done(err, undefined),
        );
      },
    },
    decode: { complete: true },
    verify: {
      algorithms: [...PLATFORM_ALGORITHMS],
      allowedIss: config.AUTH_ISSUER,
      allowedAud: config.AUTH_AUDIENCE,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      cache: 10_000,
    },
  });
}
