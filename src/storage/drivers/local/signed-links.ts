import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Service-signed links: the local driver's stand-in for S3 presigned URLs. A link names a storage, a
 * (backend) key, an expiry in epoch seconds and optionally a Content-Disposition override, and carries
 * an HMAC-SHA256 over exactly those, base64url-encoded. The signed message is a JSON array, so no two
 * different tuples serialize alike. Pure: no I/O, no clock except where `now` defaults to it.
 */

export interface SignedLink {
  storage: string;
  key: string;
  expiresAtEpochSeconds: number;
  disposition?: string | undefined;
  signature: string;
}

export interface LinkSigner {
  sign(storage: string, key: string, expiresAtEpochSeconds: number, disposition?: string): string;
  /**
   * True when the signature was made by the current or the previous secret over these exact fields
   * and the link has not expired at `nowMs`. Compares in constant time.
   */
  verify(link: SignedLink, nowMs?: number): boolean;
}

export interface LinkSignerOptions {
  /** At least 32 characters; a random per-process secret when absent (links then die with the process). */
  secret?: string | undefined;
  /** Still accepted for verification while links signed with it expire (secret rotation). */
  previousSecret?: string | undefined;
}

const MIN_SECRET_LENGTH = 32;
const VERSION = 'stowage-link-v1';

export function createLinkSigner(options: LinkSignerOptions = {}): LinkSigner {
  const secret = options.secret ?? randomBytes(32).toString('base64url');
  for (const value of [secret, options.previousSecret])
    if (value !== undefined && value.length < MIN_SECRET_LENGTH)
      throw new Error(`link signing secrets must be at least ${MIN_SECRET_LENGTH} characters`);
  const secrets = options.previousSecret === undefined ? [secret] : [secret, options.previousSecret];

  const signWith = (key: string, message: string) =>
    createHmac('sha256', key).update(message).digest('base64url');

  return {
    sign(storage, key, expiresAtEpochSeconds, disposition) {
      if (!Number.isSafeInteger(expiresAtEpochSeconds)) throw new Error('expiry must be whole epoch seconds');
      return signWith(secret, message(storage, key, expiresAtEpochSeconds, disposition));
    },
    verify(link, nowMs = Date.now()) {
      const { expiresAtEpochSeconds: expires } = link;
      if (!Number.isSafeInteger(expires) || nowMs >= expires * 1000) return false;
      // Compared as the canonical base64url text: decoding first would accept variants of the last
      // character that differ only in ignored padding bits.
      const given = Buffer.from(link.signature, 'utf8');
      const signed = message(link.storage, link.key, expires, link.disposition);
      let valid = false;
      for (const candidate of secrets) {
        const expected = Buffer.from(signWith(candidate, signed), 'utf8');
        // Every secret is tried, so timing does not reveal which one matched.
        if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
      }
      return valid;
    },
  };
}

const message = (storage: string, key: string, expires: number, disposition: string | undefined) =>
  JSON.stringify([VERSION, storage, key, expires, disposition ?? null]);
