import { createHmac, timingSafeEqual } from 'node:crypto';
import { DIRECT_STAGING_PREFIX, generateKey } from '../keys.ts';

/**
 * # Direct uploads: the browser sends the bytes to S3, nothing counts until Stowage verified them
 *
 * **The key Stowage issues is the whole state** (this file): `.stowage-direct/<id>.<payload>.<mac>`,
 * where `<id>` is 128 random bits, the payload carries the expiry and what the client declared (size,
 * type, filename), and the MAC (HMAC-SHA-256 under its own label, from the same secret as resumable
 * upload ids: resumable/upload-id.ts) binds them to the storage, the principal it was issued to and
 * the owner prefix its final key goes under. Those three are not carried, only bound: the request
 * that brings the key back says them (its route, its credentials, their scope), so another
 * principal's request fails the MAC like an altered key. Every later signing request (parts, list,
 * complete, abort) and the finalize carry the key back, and any instance with the secret checks it
 * with no lookup. The key a client proposes is never used as a key.
 *
 * **Staging**: the bytes land at the issued key itself, at the bucket root (DIRECT_STAGING_PREFIX,
 * outside every storage prefix but an empty one), which no route, link or listing of Stowage reaches.
 * The object key *is* the issued key because Uppy's `upload-success` reports, for a multipart upload,
 * the `Key` S3's CompleteMultipartUpload answers: so whatever a frontend gets there can be handed to
 * finalize as it is. That bounds the payload (S3 keys are at most 1,024 bytes): the filename in it is
 * cut to MAX_FILENAME_BYTES.
 *
 * **Finalize** (finalize.ts) verifies what arrived (size, sniffed type) and copies it server-side,
 * create-only, to `<owner prefix><id>.<extension of the sniffed type>`: the final key is fixed when
 * the key is issued except for its extension, which only the bytes can decide (as for a form upload).
 * The copy carries `<id>` as its write id, so a repeated finalize finds the object it made.
 */

/** What an issued key says, and what it is bound to. */
export interface IssuedKey {
  /** The key as issued (`.stowage-direct/…`): also the staged object's S3 key. */
  key: string;
  /** 128 random bits, hex: names the final key. */
  id: string;
  /** Epoch milliseconds: no signing and no finalize past it. */
  expiresAt: number;
  /** Declared when it was issued: the exact byte count, the type (its essence), the sanitised filename. */
  size?: number;
  contentType?: string;
  filename?: string;
}

/** What the MAC binds without carrying: the request that brings the key back says it. */
export interface KeyBinding {
  storage: string;
  /** describePrincipal() of the principal: the only one the key is good for. */
  principal: string;
  /** The principal's scope prefix (ownerPrefix expanded), prepended to the final key. */
  keyPrefix: string;
}

const VERSION = 'd1';
const MAC_BYTES = 32;
/** Keeps an issued key (and so the staged object's key) well under S3's 1,024 bytes. */
export const MAX_FILENAME_BYTES = 200;

/** The MAC key for issued direct-upload keys, derived from a server secret under its own label. */
export const directKeyFor = (secret: string): Buffer =>
  createHmac('sha256', secret).update('stowage/direct-upload-key/v1').digest();

/** The final key without its extension. */
export const finalStem = (issued: Pick<IssuedKey, 'id'>, binding: Pick<KeyBinding, 'keyPrefix'>): string =>
  `${binding.keyPrefix}${issued.id}`;

interface Wire {
  v: string;
  e: number;
  z?: number;
  t?: string;
  n?: string;
}

/** A fresh key, bound to `binding`. */
export function issueKey(
  declared: Omit<IssuedKey, 'key' | 'id' | 'filename'> & { filename?: string | undefined },
  binding: KeyBinding,
  mac: Buffer,
  id: string = generateKey(),
): IssuedKey {
  const filename = declared.filename === undefined ? undefined : cut(declared.filename, MAX_FILENAME_BYTES);
  const wire: Wire = {
    v: VERSION,
    e: declared.expiresAt,
    ...(declared.size !== undefined && { z: declared.size }),
    ...(declared.contentType !== undefined && { t: declared.contentType }),
    ...(filename && { n: filename }),
  };
  const payload = Buffer.from(JSON.stringify(wire)).toString('base64url');
  const tag = sign(mac, id, payload, binding).toString('base64url');
  return {
    key: `${DIRECT_STAGING_PREFIX}${id}.${payload}.${tag}`,
    id,
    expiresAt: declared.expiresAt,
    ...(declared.size !== undefined && { size: declared.size }),
    ...(declared.contentType !== undefined && { contentType: declared.contentType }),
    ...(filename && { filename }),
  };
}

/**
 * What an issued key says, or undefined when Stowage did not issue it for this binding (malformed,
 * altered, another version, another storage, principal or scope). Expiry is the caller's to check.
 */
export function verifyIssuedKey(text: string, binding: KeyBinding, mac: Buffer): IssuedKey | undefined {
  if (!text.startsWith(DIRECT_STAGING_PREFIX)) return undefined;
  const [id, payload, tag, ...rest] = text.slice(DIRECT_STAGING_PREFIX.length).split('.');
  if (id === undefined || payload === undefined || tag === undefined || rest.length > 0) return undefined;
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  const given = Buffer.from(tag, 'base64url');
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, sign(mac, id, payload, binding)))
    return undefined;
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Wire>;
  } catch {
    return undefined;
  }
  const { v, e, z, t, n } = wire;
  if (v !== VERSION || !Number.isSafeInteger(e)) return undefined;
  return {
    key: text,
    id,
    expiresAt: e as number,
    ...(Number.isSafeInteger(z) && { size: z as number }),
    ...(typeof t === 'string' && { contentType: t }),
    ...(typeof n === 'string' && { filename: n }),
  };
}

// A JSON array: no separator a storage name, principal or prefix could contain makes two bindings alike.
const sign = (mac: Buffer, id: string, payload: string, binding: KeyBinding): Buffer =>
  createHmac('sha256', mac)
    .update(JSON.stringify([id, payload, binding.storage, binding.principal, binding.keyPrefix]))
    .digest();

/** At most `bytes` UTF-8 bytes of `text`, cut on a character boundary. */
function cut(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    used += Buffer.byteLength(char, 'utf8');
    if (used > bytes) break;
    out += char;
  }
  return out;
}
