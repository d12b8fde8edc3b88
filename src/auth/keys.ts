import { createHash } from 'node:crypto';

/**
 * Our own signing keys: tokens are signed with the current JWT_SECRET and carry its key id
 * (`kid`); they verify with the current secret or any in JWT_PREVIOUS_SECRETS, so a secret
 * rotates with no logout storm (docs/security.md#rotating-the-signing-secret). The key id is a
 * hash of the secret: the same in every replica with no setting of its own, and it says nothing
 * about the secret.
 */
export interface SigningKeys {
  current: { kid: string; secret: string };
  /** Every secret a token may be verified with, by key id (the current one included). */
  byKid: Map<string, string>;
}

export function keyId(secret: string): string {
  return createHash('sha256')
    .update('citizen-affiliation signing key\0')
    .update(secret)
    .digest('base64url')
    .slice(0, 16);
}

export function signingKeys(current: string, previous: readonly string[]): SigningKeys {
  const byKid = new Map<string, string>();
  for (const secret of [current, ...previous]) byKid.set(keyId(secret), secret);
  return { current: { kid: keyId(current), secret: current }, byKid };
}

/**
 * The secret a token of ours verifies with: the one its `kid` names; a token with no `kid`
 * (issued before key ids) with the current secret only. Undefined: a key we do not hold (a
 * retired secret, or someone else's key).
 */
export function secretFor(keys: SigningKeys, kid: unknown): string | undefined {
  if (kid === undefined) return keys.current.secret;
  return typeof kid === 'string' ? keys.byKid.get(kid) : undefined;
}

/**
 * A token's issuer, read before its signature is checked, only to pick the verifier that then
 * checks everything (ours: HS256; the platform's: its JWKS). Undefined when it is not a JWT.
 */
export function unverifiedIssuer(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const iss = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))?.iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
