import { createHmac, timingSafeEqual } from 'node:crypto';
import { DIRECT_STAGING_PREFIX, generateKey } from '../keys.ts';

/**
 * # Direct uploads: the browser sends the bytes to S3, nothing counts until Stowage verified them
 *
 * **The key Stowage issues is the whole state** (this file): `.stowage-direct/<id>.<payload>.<mac>`,
 * where `<id>` is 128 random bits and the MAC (HMAC-SHA-256 under its own label, from the same secret
 * as resumable upload ids: resumable/upload-id.ts) binds the storage, the principal it was issued to,
 * the owner prefix its final key goes under, the declared size, type and filename, and an expiry.
 * Every later signing request (parts, list, complete, abort) and the finalize carry it back, and any
 * instance with the secret checks it with no lookup. The key a client proposes is never used as a key.
 *
 * **Staging**: the bytes land at `<storage prefix>.stowage-direct/<id>` (DIRECT_STAGING_PREFIX), which
 * no route, link or listing of Stowage reaches and the bucket policy denies to anonymous readers.
 *
 * **Finalize** (finalize.ts) verifies what arrived (size, sniffed type) and copies it server-side,
 * create-only, to `<owner prefix><id>.<extension of the sniffed type>`: the final key is fixed when
 * the key is issued except for its extension, which only the bytes can decide (as for a form upload).
 * The copy carries `<id>` as its write id, so a repeated finalize finds the object it made.
 */

/** What an issued key says; fixed when it is issued. */
export interface IssuedKey {
  /** 128 random bits, hex: names the staged object and the final key. */
  id: string;
  storage: string;
  /** describePrincipal() of the principal it was issued to: the only one that may use it. */
  principal: string;
  /** The caller's scope prefix (ownerPrefix expanded), prepended to the final key. */
  keyPrefix: string;
  /** Epoch milliseconds: no signing and no finalize past it. */
  expiresAt: number;
  /** Declared when it was issued: the exact byte count and the type, and the sanitised filename. */
  size?: number;
  contentType?: string;
  filename?: string;
}

const VERSION = 'd1';
const MAC_BYTES = 32;

/** The MAC key for issued direct-upload keys, derived from a server secret under its own label. */
export const directKeyFor = (secret: string): Buffer =>
  createHmac('sha256', secret).update('stowage/direct-upload-key/v1').digest();

/** A fresh id, to be issued. */
export const newDirectId = (): string => generateKey();

/** The staged object's key (API key, without the storage prefix). */
export const stagingKey = (issued: Pick<IssuedKey, 'id'>): string => `${DIRECT_STAGING_PREFIX}${issued.id}`;

/** The final key without its extension. */
export const finalStem = (issued: Pick<IssuedKey, 'id' | 'keyPrefix'>): string =>
  `${issued.keyPrefix}${issued.id}`;

interface Wire {
  v: string;
  s: string;
  p: string;
  o: string;
  e: number;
  z?: number;
  t?: string;
  n?: string;
}

export function encodeIssuedKey(issued: IssuedKey, key: Buffer): string {
  const wire: Wire = {
    v: VERSION,
    s: issued.storage,
    p: issued.principal,
    o: issued.keyPrefix,
    e: issued.expiresAt,
    ...(issued.size !== undefined && { z: issued.size }),
    ...(issued.contentType !== undefined && { t: issued.contentType }),
    ...(issued.filename !== undefined && { n: issued.filename }),
  };
  const signed = `${issued.id}.${Buffer.from(JSON.stringify(wire)).toString('base64url')}`;
  return `${DIRECT_STAGING_PREFIX}${signed}.${mac(key, signed).toString('base64url')}`;
}

/**
 * What an issued key says, or undefined when Stowage did not issue it (malformed, altered, another
 * version, a MAC that does not verify). Expiry and principal are the caller's to check.
 */
export function decodeIssuedKey(text: string, key: Buffer): IssuedKey | undefined {
  if (!text.startsWith(DIRECT_STAGING_PREFIX)) return undefined;
  const [id, payload, tag, ...rest] = text.slice(DIRECT_STAGING_PREFIX.length).split('.');
  if (id === undefined || payload === undefined || tag === undefined || rest.length > 0) return undefined;
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  const given = Buffer.from(tag, 'base64url');
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(key, `${id}.${payload}`))) return undefined;
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Wire>;
  } catch {
    return undefined;
  }
  const { v, s, p, o, e, z, t, n } = wire;
  if (v !== VERSION || typeof s !== 'string' || typeof p !== 'string' || typeof o !== 'string')
    return undefined;
  if (!Number.isSafeInteger(e)) return undefined;
  return {
    id,
    storage: s,
    principal: p,
    keyPrefix: o,
    expiresAt: e as number,
    ...(Number.isSafeInteger(z) && { size: z as number }),
    ...(typeof t === 'string' && { contentType: t }),
    ...(typeof n === 'string' && { filename: n }),
  };
}

const mac = (key: Buffer, signed: string): Buffer => createHmac('sha256', key).update(signed).digest();
