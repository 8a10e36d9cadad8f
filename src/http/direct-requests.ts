import { z } from 'zod';
import type { Scope } from '../auth/authorize.ts';
import { describePrincipal, type Principal } from '../auth/principal.ts';
import { AppError } from '../errors.ts';
import { essence, isAllowed } from '../storage/content-type.ts';
import { type IssuedKey, type KeyBinding, verifyIssuedKey } from '../storage/direct/issued-key.ts';
import type { DirectOperation, DirectUploads } from '../storage/direct/port.ts';
import { sanitizeFilename } from '../storage/keys.ts';
import { tooLarge } from '../storage/meter.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * The request bodies of the direct-upload routes (routes/direct.ts) and what they mean. `sign` takes
 * exactly what `@uppy/aws-s3` 6.x's `signRequest` passes (S3mini.ts): the HTTP method of the S3
 * request, the key, and `uploadId`/`partNumber` for multipart operations; `contentType`, `size`,
 * `filename` and `expiresIn` are optional declarations a client may add.
 */

const S3_MAX_PART = 10_000;

export const signBody = z.object({
  method: z.enum(['PUT', 'POST', 'GET', 'DELETE']).meta({
    description:
      'The S3 request to sign: PUT = PutObject (or UploadPart with `uploadId` and `partNumber`), POST = CreateMultipartUpload (CompleteMultipartUpload with `uploadId`), GET = ListParts, DELETE = AbortMultipartUpload.',
  }),
  key: z.string().max(4096).optional().meta({
    description:
      "For PutObject and CreateMultipartUpload the client's proposal, never used as a key (its last segment, less Uppy's random prefix, is the filename when `filename` is absent); otherwise the key Stowage issued.",
  }),
  uploadId: z.string().min(1).max(1024).optional(),
  partNumber: z.number().int().min(1).max(S3_MAX_PART).optional(),
  contentType: z
    .string()
    .max(255)
    .optional()
    .meta({ description: 'Declared type, signed into a PutObject (S3 then refuses another one).' }),
  size: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .meta({ description: 'Declared byte count: signed into a PutObject, checked at finalize.' }),
  filename: z
    .string()
    .max(1024)
    .optional()
    .meta({ description: 'Original filename, stored like a form upload’s.' }),
  postPolicy: z.boolean().optional().meta({
    description:
      'With `POST` and no `uploadId`: a browser form upload (presigned POST policy, S3 refuses a size over `maxFileSize` or other than the declared one) instead of CreateMultipartUpload. The answer has `fields` to post before the file.',
  }),
  expiresIn: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: "Seconds the URL lives; clamped to the storage's presign maximum." }),
});
export type SignBody = z.infer<typeof signBody>;

export const signAnswer = z.object({
  url: z.string().meta({ description: 'The presigned S3 request: send it with `method` to this URL.' }),
  key: z
    .string()
    .optional()
    .meta({ description: 'The key Stowage issued (PutObject, CreateMultipartUpload): use it from now on.' }),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: 'Signed headers the request must carry as they are.' }),
  fields: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: 'POST policy: the form fields to post, in this order, before the file.' }),
});

export const finalizeBody = z.object({
  key: z.string().min(1).max(4096).meta({ description: 'The key `sign` issued.' }),
});

/** The S3 operation a sign request asks for (INVALID: a combination Uppy never sends). */
export type RequestedOperation =
  | { op: 'PutObject' }
  | { op: 'PostObject' }
  | { op: 'CreateMultipartUpload' }
  | { op: 'UploadPart'; uploadId: string; partNumber: number }
  | { op: 'ListParts' | 'CompleteMultipartUpload' | 'AbortMultipartUpload'; uploadId: string };

export function requestedOperation(body: SignBody): RequestedOperation {
  const { method, uploadId, partNumber } = body;
  if (uploadId === undefined) {
    if (method === 'PUT') return { op: 'PutObject' };
    if (method === 'POST') return body.postPolicy ? { op: 'PostObject' } : { op: 'CreateMultipartUpload' };
    throw new AppError('BAD_REQUEST', `${method} without uploadId is not an operation Stowage signs`);
  }
  if (method === 'PUT') {
    if (partNumber === undefined) throw new AppError('BAD_REQUEST', 'UploadPart needs a partNumber');
    return { op: 'UploadPart', uploadId, partNumber };
  }
  if (method === 'GET') return { op: 'ListParts', uploadId };
  if (method === 'POST') return { op: 'CompleteMultipartUpload', uploadId };
  return { op: 'AbortMultipartUpload', uploadId };
}

/** S3's smallest part (all but the last): an upload within `maxFileSize` needs no more parts than this allows. */
const MIN_PART_BYTES = 5 * 2 ** 20;

/**
 * Refuses (413) a part number no upload within `maxFileSize` reaches: a presigned UploadPart cannot
 * bound the part's size (Uppy declares none), but this bounds how many a client can stage beyond it
 * before finalize refuses the whole.
 */
export function requirePartWithinLimit(partNumber: number, profile: Storage['profile']): void {
  const most = Math.max(1, Math.ceil(profile.maxFileSize / MIN_PART_BYTES));
  if (partNumber > most)
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `an upload within this storage's limit has at most ${most} parts`,
      {
        details: { maxFileSize: profile.maxFileSize, maxPartNumber: most },
      },
    );
}

/** The issued key, if it is this principal's for this storage and still valid; else 403. */
export function verifiedKey(text: string | undefined, mac: Buffer, binding: KeyBinding): IssuedKey {
  const issued = text === undefined ? undefined : verifyIssuedKey(text, binding, mac);
  if (issued === undefined)
    throw new AppError('DIRECT_KEY_REFUSED', 'this key was not issued to you for this storage');
  if (issued.expiresAt <= Date.now()) throw new AppError('DIRECT_KEY_EXPIRED', 'this key has expired');
  return issued;
}

/** What an issued key is bound to, for this request: its storage, its principal and their scope. */
export const bindingOf = (storage: Storage, scope: Scope, principal: Principal): KeyBinding => ({
  storage: storage.name,
  principal: describePrincipal(principal),
  keyPrefix: scope.keyPrefix,
});

export function directOf(storage: Storage): DirectUploads {
  const direct = storage.driver.direct;
  if (!direct)
    throw new AppError('DIRECT_NOT_SUPPORTED', `storage "${storage.name}" does not offer direct uploads`);
  // Its public-read policy covers the whole bucket, staging (at the root) included: unverified bytes
  // would be public at the bucket's URL until finalized.
  if (storage.profile.access === 'public' && storage.profile.prefix === '')
    throw new AppError(
      'DIRECT_NOT_SUPPORTED',
      `storage "${storage.name}" is public at its bucket's root, where staged uploads would be public too; give it a prefix to offer direct uploads`,
    );
  return direct;
}

/** Uppy's default proposal is `<random UUID>-<file name>`: the name is what is left. */
const uppyPrefix = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-/i;

/**
 * What a new key records of the client's declarations, refused at once when the storage would refuse
 * it at finalize anyway: a size over `maxFileSize` (413), a type outside `allowedTypes` (415).
 */
export function declarations(
  body: SignBody,
  profile: Storage['profile'],
): { size?: number; contentType?: string; filename?: string } {
  if (body.size !== undefined && body.size > profile.maxFileSize) throw tooLarge(profile.maxFileSize);
  const type = essence(body.contentType);
  if (body.contentType !== undefined && (!type || !isAllowed(type, profile.allowedTypes)))
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'this storage does not take that content type');
  const filename = sanitizeFilename(body.filename ?? body.key?.split('/').pop()?.replace(uppyPrefix, ''));
  return {
    ...(body.size !== undefined && { size: body.size }),
    ...(type !== undefined && { contentType: type }),
    ...(filename !== undefined && { filename }),
  };
}

/** The S3 request that starts an upload to a new key, with what the client declared signed into it. */
export function newKeyOperation(
  op: 'PutObject' | 'PostObject' | 'CreateMultipartUpload',
  issued: IssuedKey,
  body: SignBody,
  profile: Storage['profile'],
): DirectOperation {
  const type = body.contentType !== undefined ? { contentType: body.contentType } : {};
  switch (op) {
    case 'PutObject':
      return {
        op,
        key: issued.key,
        ...type,
        ...(body.size !== undefined && { contentLength: body.size }),
      };
    case 'PostObject':
      return {
        op,
        key: issued.key,
        ...type,
        minSize: body.size ?? 0,
        maxSize: body.size ?? profile.maxFileSize,
      };
    case 'CreateMultipartUpload':
      return { op, key: issued.key, ...type };
  }
}
