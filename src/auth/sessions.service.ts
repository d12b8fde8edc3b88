import { randomBytes, randomUUID } from 'node:crypto';
import type { Db, Executor } from '../../db/client.js';
import type { Role } from '../shared/enums.js';
import { rateLimited, unauthorized } from '../shared/errors.js';
import { sha256Hex } from '../shared/hashing.js';
import type { ExpiringStore } from '../stores/store.js';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import {
  findRefreshToken,
  insertRefreshToken,
  revokeFamily,
  spendRefreshToken,
} from './refresh-tokens.repository.js';
import { findUserById, findUserByUsername, updatePasswordHash } from './users.repository.js';
import type { User } from './users.table.js';

/** Claims this service puts in an access token besides iat/exp/iss/aud. */
export interface AccessClaims {
  sub: string;
  roles: Role[];
  jti: string;
  /** Refresh family: every token of one login shares it, so one revocation covers them all. */
  fid: string;
}

export interface VerifiedClaims extends AccessClaims {
  iat: number;
  exp: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export type RevocationReason = 'logout' | 'refresh_reuse';

/** Tells the security log what a login, refresh or logout did (src/security/security-log.ts). */
export type SessionAudit = (event: {
  kind:
    | 'login_succeeded'
    | 'login_failed'
    | 'login_locked'
    | 'refresh_rotated'
    | 'refresh_reused'
    | 'logout';
  /** A user id, or null with `username` when no user is known for it. */
  subject: string | null;
  username?: string;
  detail?: Record<string, string>;
}) => void;

const noAudit: SessionAudit = () => {};

export interface SessionServiceOptions {
  db: Db;
  store: ExpiringStore;
  sign: (claims: AccessClaims) => string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  maxLoginFailures: number;
  loginFailureWindowSeconds: number;
  onLoginFailed?: () => void;
  onTokensRevoked?: (reason: RevocationReason) => void;
  now?: () => Date;
}

const INVALID_CREDENTIALS = 'Invalid username or password';
const INVALID_REFRESH = 'Refresh token is invalid, expired or revoked';

const jtiKey = (jti: string) => `denylist:jti:${jti}`;
const familyKey = (fid: string) => `denylist:family:${fid}`;
/** Holds the second up to which every access token of the user is refused. */
const userKey = (userId: string) => `denylist:user:${userId}`;

/**
 * Refuses every access token the user holds now (for a disabled or deleted user). The mark
 * lasts one access-token lifetime, after which those tokens have expired anyway; tokens issued
 * later (after the user is enabled again) are not affected.
 */
export async function denyUserTokens(
  store: ExpiringStore,
  userId: string,
  accessTtlSeconds: number,
  now = new Date(),
): Promise<void> {
  const upTo = Math.ceil(now.getTime() / 1000);
  await store.set(userKey(userId), String(upTo), (accessTtlSeconds + 1) * 1000);
}

/**
 * Login, refresh rotation with reuse detection, logout and revocation checks.
 * Plain TypeScript: the Fastify auth plugin wires it to requests.
 */
export class SessionService {
  private readonly now: () => Date;

  constructor(private readonly o: SessionServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async login(
    username: string,
    password: string,
    clientIp: string,
    audit: SessionAudit = noAudit,
  ): Promise<TokenPair> {
    // Each attempt is counted before the password is checked, so concurrent guesses cannot
    // exceed the limit; a successful login clears the counter.
    const key = `login-failures:${sha256Hex(`${clientIp}\n${username.trim().toLowerCase()}`)}`;
    const attempts = await this.o.store.increment(key, this.o.loginFailureWindowSeconds * 1000);
    if (attempts.count > this.o.maxLoginFailures) {
      audit({ kind: 'login_locked', subject: null, username });
      throw rateLimited(
        attempts.resetInMs / 1000,
        'Too many failed logins for this username from your address; try again later',
      );
    }
    const user = await findUserByUsername(this.o.db, username);
    const valid = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !valid || user.disabledAt) {
      this.o.onLoginFailed?.();
      const reason = !user ? 'unknown_user' : user.disabledAt ? 'user_disabled' : 'wrong_password';
      audit({ kind: 'login_failed', subject: user?.id ?? null, username, detail: { reason } });
      throw unauthorized('UNAUTHORIZED', INVALID_CREDENTIALS);
    }
    await this.o.store.delete(key);
    if (needsRehash(user.passwordHash)) {
      await updatePasswordHash(this.o.db, user.id, await hashPassword(password));
    }
    audit({ kind: 'login_succeeded', subject: user.id });
    return this.issue(this.o.db, user, randomUUID());
  }

  async refresh(refreshToken: string, audit: SessionAudit = noAudit): Promise<TokenPair> {
    const tokenHash = sha256Hex(refreshToken);
    const now = this.now();
    const outcome = await this.o.db.transaction(async (tx) => {
      const spent = await spendRefreshToken(tx, tokenHash, now);
      if (spent) {
        const user = await findUserById(tx, spent.userId);
        if (!user || user.disabledAt) return { kind: 'invalid' } as const;
        const pair = await this.issue(tx, user, spent.familyId);
        return { kind: 'ok', pair, userId: user.id } as const;
      }
      const known = await findRefreshToken(tx, tokenHash);
      if (known?.usedAt && !known.revokedAt) {
        // A spent token presented again: someone holds a copy. Kill the whole login.
        await revokeFamily(tx, known.familyId, now);
        return { kind: 'reused', familyId: known.familyId, userId: known.userId } as const;
      }
      return { kind: 'invalid' } as const;
    });
    if (outcome.kind === 'ok') {
      audit({ kind: 'refresh_rotated', subject: outcome.userId });
      return outcome.pair;
    }
    if (outcome.kind === 'reused') {
      audit({ kind: 'refresh_reused', subject: outcome.userId, detail: { revoked: 'login' } });
      await this.denyFamily(outcome.familyId);
      this.o.onTokensRevoked?.('refresh_reuse');
      throw unauthorized(
        'UNAUTHORIZED',
        'Refresh token was already used; every token of this login has been revoked',
      );
    }
    throw unauthorized('UNAUTHORIZED', INVALID_REFRESH);
  }

  /** The user a token belongs to, while it exists and is enabled. */
  async whoAmI(
    userId: string,
  ): Promise<{ id: string; username: string; roles: Role[] } | undefined> {
    const user = await findUserById(this.o.db, userId);
    if (!user || user.disabledAt) return undefined;
    return { id: user.id, username: user.username, roles: user.roles };
  }

  /** Revokes the presented access token, its login's family and, if given, a refresh token's. */
  async logout(
    claims: VerifiedClaims,
    refreshToken?: string,
    audit: SessionAudit = noAudit,
  ): Promise<void> {
    const remainingMs = claims.exp * 1000 - this.now().getTime();
    await this.o.store.setFlags([jtiKey(claims.jti)], Math.max(remainingMs, 1000));
    // A platform token (src/auth/platform-tokens.ts) has no login of ours: its jti is all there is.
    const families = new Set(claims.fid.startsWith('platform:') ? [] : [claims.fid]);
    if (refreshToken && families.size > 0) {
      const row = await findRefreshToken(this.o.db, sha256Hex(refreshToken));
      if (row && row.userId === claims.sub) families.add(row.familyId);
    }
    for (const familyId of families) {
      await this.denyFamily(familyId);
      await revokeFamily(this.o.db, familyId, this.now());
    }
    this.o.onTokensRevoked?.('logout');
    audit({ kind: 'logout', subject: claims.sub });
  }

  /** The token, its login or its user was revoked. One store round trip per protected request. */
  async isRevoked(claims: Pick<VerifiedClaims, 'jti' | 'fid' | 'sub' | 'iat'>): Promise<boolean> {
    const [token, family, user] = await this.o.store.getMany([
      jtiKey(claims.jti),
      familyKey(claims.fid),
      userKey(claims.sub),
    ]);
    return token !== null || family !== null || (user !== null && claims.iat <= Number(user));
  }

  private denyFamily(familyId: string): Promise<void> {
    // Any access token of the family was issued at most one access lifetime ago.
    return this.o.store.setFlags([familyKey(familyId)], this.o.accessTtlSeconds * 1000);
  }

  private async issue(db: Executor, user: User, familyId: string): Promise<TokenPair> {
    const refreshToken = randomBytes(32).toString('base64url');
    await insertRefreshToken(db, {
      tokenHash: sha256Hex(refreshToken),
      familyId,
      userId: user.id,
      expiresAt: new Date(this.now().getTime() + this.o.refreshTtlSeconds * 1000),
    });
    return {
      access_token: this.o.sign({
        sub: user.id,
        roles: user.roles,
        jti: randomUUID(),
        fid: familyId,
      }),
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.o.accessTtlSeconds,
    };
  }
}
