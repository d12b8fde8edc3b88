/**
 * A JWT's signature segment is base64url, and base64url has more than one spelling for the same
 * bytes: the last character of a 32-byte HS256 signature carries 2 unused bits, so four tokens
 * decode to one signature. fast-jwt checks the alphabet but decodes the rest leniently, so it
 * accepts all four. We accept only the canonical spelling, so that a token has one form: a
 * "tampered" copy is refused like any other, and nothing keyed by the token's text (fast-jwt's
 * verification cache, a client's or a proxy's) sees one credential under several names.
 */
export function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}
