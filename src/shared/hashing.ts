import { createHash } from 'node:crypto';

/** SHA-256 of a text, hex: what is stored of a credential (a document URL, a refresh token). */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 of a text, base64url: a short fingerprint (an idempotent request's body). */
export function sha256Base64url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** A UUID derived from a name (RFC 9562 version 8 layout over SHA-256): stable event ids. */
export function uuidFromName(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
