import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * # Resumable uploads (tus 1.0): S3 is the only state, any instance serves any request
 *
 * **The upload id is a signed, self-describing token** (this file): everything that is fixed when the
 * upload is created — storage, the final key (create-only, chosen at creation), the creating
 * principal, `Upload-Length`, the part size, the expiry, the sanitised `filename`/`filetype`, and a
 * random write id — is in the id, MAC'd (HMAC-SHA-256) with a server secret. Any instance that has
 * the secret can authorise and serve any request of the upload with no lookup and no shared state;
 * a forged or altered id is 404 like an unknown one. Why not a state object in S3 per upload: it
 * would cost a GET on every HEAD/PATCH and a compare-and-swap on every change, and the id would still
 * have to be unguessable; what the token cannot say (how far the upload got, whether it was
 * terminated) is exactly what S3 already knows, below. The secret is `resumable.secret` when
 * configured (several instances need the same one), else derived from the local link-signing secret
 * (kept on disk, src/storage/drivers/local/signing-secret.ts) — always through a label
 * (`keyFor`), so one secret never signs two kinds of thing.
 *
 * **What lives in S3, and nothing else** (none of it on an instance's disk or memory beyond one request):
 * - the create-only **reservation** of the final key (create-only.ts), written at creation with the
 *   token's write id and the upload's expiry: it is the upload's "alive" mark. No reservation and no
 *   object at the key ⇒ terminated or expired (404/410); the object with our write id ⇒ finished
 *   (GET on the upload URL answers it).
 * - the **multipart upload** of the final key, created at the first full part, once the first bytes
 *   have been sniffed (its content type and disposition are set at creation and cannot change after):
 *   found again with ListMultipartUploads on the key (keys are 128 random bits and reserved, so every
 *   multipart upload of the key is ours; should there be two, the oldest wins, the rest are aborted).
 *   The UploadId is therefore not in the token.
 * - a **tail** object `<hidden prefix>/<key>/tail-<n>`: the first bytes of part `n` while they are
 *   fewer than a part (S3 parts are ≥ 5 MiB except the last, and tus clients send any chunk size).
 *   The next PATCH reads it into the request's part buffer and appends its body; a full buffer becomes
 *   part `n`, the rest becomes `tail-<n+1>`. Tails are named by part so a crash between writing part
 *   `n` and replacing the tail cannot count bytes twice: tails of parts already in S3 are ignored
 *   (and deleted). A body of known length (Content-Length) sends each whole part it covers as an
 *   UploadPart streamed as it arrives, no buffer (where payloads go unsigned; SigV4 would hash each
 *   part first): S3 keeps no part whose body ended short, so a part cut midway is simply not listed.
 * - a **lease** object `<hidden prefix>/<key>/lease`: taken with a conditional
 *   PutObject (`If-None-Match: *`, or `If-Match` on an expired/released one), so a second concurrent
 *   PATCH gets 423 at once. Correctness never depends on it: each upload has one fixed part size,
 *   a part is always the same bytes at the same number, and completion is create-only.
 *
 * **The offset is derived, never stored**: `Upload-Offset` = the sizes of the contiguous parts 1…k
 * (ListParts) + the size of `tail-<k+1>`. When it equals `Upload-Length` the upload is completed
 * (by that PATCH, or by the next HEAD/PATCH if the instance died before the completion). HEAD retries
 * S3 and answers 423 when it still cannot tell: tus-js-client restarts from byte 0 on any other error.
 *
 * **Expiry**: `Upload-Expires` = the token's expiry; past it every request is 410 whatever S3 still
 * holds, and the bucket's AbortIncompleteMultipartUpload rule plus an expiration rule on the hidden
 * prefix (checked by `check`, and the `gc` command where lifecycle rules are missing) remove the rest.
 */

/** What an upload id says; fixed at creation. */
export interface UploadTicket {
  storage: string;
  /** The final object key (API key, without the profile prefix). */
  key: string;
  /** describePrincipal() of the creator: only it (or a service with write) may touch the upload. */
  principal: string;
  /** Upload-Length in bytes. */
  length: number;
  /** Every part but the last has exactly this size, for the whole life of the upload. */
  partSize: number;
  /** Epoch milliseconds; Upload-Expires. */
  expiresAt: number;
  /** Sanitised `filename` and `filetype` from Upload-Metadata. */
  filename?: string;
  filetype?: string;
  /** Carried by the reservation: tells our reservation and our finished object from anyone else's. */
  writeId: string;
}

const VERSION = 'u1';
const MAC_BYTES = 32;

/** The MAC key for upload ids, derived from a server secret under its own label. */
export const keyFor = (secret: string): Buffer =>
  createHmac('sha256', secret).update('stowage/resumable-upload-id/v1').digest();

export const newWriteId = (): string => randomBytes(16).toString('base64url');

interface Wire {
  s: string;
  k: string;
  p: string;
  l: number;
  z: number;
  e: number;
  w: string;
  n?: string;
  t?: string;
}

/** `u1.<payload>.<mac>`, URL-safe (base64url), so it is one path segment. */
export function encodeUploadId(ticket: UploadTicket, key: Buffer): string {
  const wire: Wire = {
    s: ticket.storage,
    k: ticket.key,
    p: ticket.principal,
    l: ticket.length,
    z: ticket.partSize,
    e: ticket.expiresAt,
    w: ticket.writeId,
    ...(ticket.filename !== undefined && { n: ticket.filename }),
    ...(ticket.filetype !== undefined && { t: ticket.filetype }),
  };
  const payload = Buffer.from(JSON.stringify(wire)).toString('base64url');
  return `${VERSION}.${payload}.${mac(key, payload).toString('base64url')}`;
}

/**
 * The ticket an id carries, or undefined when it is not one of ours (malformed, another version,
 * or a MAC that does not verify): callers answer 404 for all of these alike. Expiry is not checked
 * here (an expired upload is 410, not 404).
 */
export function decodeUploadId(id: string, key: Buffer): UploadTicket | undefined {
  const [version, payload, tag, ...rest] = id.split('.');
  if (version !== VERSION || payload === undefined || tag === undefined || rest.length > 0) return undefined;
  const given = Buffer.from(tag, 'base64url');
  const expected = mac(key, payload);
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, expected)) return undefined;
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Wire>;
  } catch {
    return undefined;
  }
  const { s, k, p, l, z, e, w, n, t } = wire;
  if (typeof s !== 'string' || typeof k !== 'string' || typeof p !== 'string' || typeof w !== 'string')
    return undefined;
  if (!Number.isSafeInteger(l) || !Number.isSafeInteger(z) || !Number.isSafeInteger(e)) return undefined;
  return {
    storage: s,
    key: k,
    principal: p,
    length: l as number,
    partSize: z as number,
    expiresAt: e as number,
    writeId: w,
    ...(typeof n === 'string' && { filename: n }),
    ...(typeof t === 'string' && { filetype: t }),
  };
}

const mac = (key: Buffer, payload: string): Buffer => createHmac('sha256', key).update(payload).digest();
