import buildGetJwks from 'get-jwks';
import { Agent } from 'undici';
import { mappedRoles, type RoleMap } from './role-map.js';
import type { VerifiedClaims } from './sessions.service.js';

/**
 * Access tokens issued by the platform's auth service (AUTH_ISSUER), verified with the keys its
 * JWKS publishes (AUTH_JWKS_URL) through get-jwks, which caches them and keeps a stale copy for
 * when the JWKS cannot be fetched. Around it: only asymmetric algorithms (an HS256 token "signed"
 * with the public key is refused before any key is looked up), an unknown `kid` asks the JWKS at
 * most once per interval (a flood of made-up key ids is not a flood of fetches), and no key means
 * no entry (fail closed). docs/security.md#tokens-from-the-platforms-auth-service
 */
export const PLATFORM_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

export class PlatformKeyError extends Error {}

/**
 * The claims the rest of the service reads, for a verified platform token. Its subject is
 * prefixed (`platform:`), so it never meets a local user's id (idempotency keys, audit rows,
 * revocation); its `jti` revokes it like one of ours.
 */
export function platformClaims(payload: Record<string, unknown>, map: RoleMap): VerifiedClaims {
  const jti = String(payload.jti);
  return {
    sub: `platform:${String(payload.sub)}`,
    roles: mappedRoles(payload, map),
    jti,
    fid: `platform:${jti}`,
    iat: Number(payload.iat),
    exp: Number(payload.exp),
  };
}

export interface PlatformKeysOptions {
  jwksUrl: string;
  /** How long a fetched key is used before the JWKS is asked again (then the stale copy). */
  ttlMs: number;
  /** After a key id was not found, unknown ones are refused without a fetch for this long. */
  unknownKidIntervalMs: number;
  timeoutMs: number;
  now?: () => number;
}

export class PlatformKeys {
  private readonly jwks: ReturnType<typeof buildGetJwks>;
  private readonly domain: string;
  /** When a key id was last looked for in the JWKS and not found (or the JWKS failed). */
  private lastMiss = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly o: PlatformKeysOptions) {
    const url = new URL(o.jwksUrl);
    this.domain = `${url.origin}/`;
    this.now = o.now ?? Date.now;
    const dispatcher = new Agent({
      connectTimeout: o.timeoutMs,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
    });
    this.jwks = buildGetJwks({
      max: 100,
      ttl: o.ttlMs,
      jwksPath: `${url.pathname.slice(1)}${url.search}`,
      fetchOptions: { dispatcher } as never,
    });
  }

  /** The public key (PEM) for a token header, or PlatformKeyError. */
  async keyFor(header: { alg?: unknown; kid?: unknown }): Promise<string> {
    const { alg, kid } = header;
    if (!PLATFORM_ALGORITHMS.includes(alg as (typeof PLATFORM_ALGORITHMS)[number])) {
      throw new PlatformKeyError(`algorithm ${String(alg)} is not accepted`);
    }
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) {
      throw new PlatformKeyError('the token names no key (kid)');
    }
    const cacheKey = this.jwks.generateCacheKey(alg as string, kid, this.domain);
    const known = this.jwks.cache.get(cacheKey) ?? this.jwks.staleCache.get(cacheKey);
    // A key id we have not seen asks the JWKS (a key the service just rotated in), unless one
    // was looked for in vain moments ago: made-up key ids then cost no fetch each.
    if (!known && this.now() - this.lastMiss < this.o.unknownKidIntervalMs) {
      throw new PlatformKeyError('unknown key id; the JWKS lacked one moments ago');
    }
    try {
      return await this.jwks.getPublicKey({ domain: this.domain, alg: alg as string, kid });
    } catch (err) {
      if (!known) this.lastMiss = this.now();
      throw new PlatformKeyError(`no key ${kid}: ${(err as Error).message}`);
    }
  }
}
