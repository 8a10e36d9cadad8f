import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import type { CleanupStep } from './background-cleanups.ts';
import type { S3Context } from './context.ts';
import {
  httpStatusOf,
  isConditionalConflict,
  isNotFound,
  isPreconditionFailed,
  isUnreachable,
  toAppError,
} from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { isReservation, metaKeys, reservationExpiry, sameEtag } from './metadata.ts';
import { encryptionParams } from './params.ts';
import { reservationBody, reservationSize } from './reservation-body.ts';

/**
 * # The create-only protocol: how a storage with `overwrite: false` never replaces an object
 *
 * **Single request (PutObject).** Sent with `If-None-Match: *`: every server we target decides it
 * atomically (412 when the key is taken; AWS answers 409 while another conditional write to the key is
 * in flight, and a body still in memory is replayed then).
 *
 * **Multipart.** Servers disagree on `If-None-Match` for CompleteMultipartUpload (AWS and MinIO honour
 * it, Ceph RGW ignores it), so the writer first **reserves** the key: a small conditional PutObject of a
 * reservation-shaped object (`reservationParams`; hidden from every read and list; its body,
 * reservation-body.ts, is recognisable in listings). The multipart upload then only ever replaces the
 * writer's own reservation. A reservation whose writer died is taken over once it has expired, with
 * If-Match on its ETag (a takeover writes a body of another size, so the ETag differs from the one it
 * replaces). The TTL (`reservationTtlSeconds`) exceeds the longest upload, so a live writer's
 * reservation is never taken over. A failed upload is aborted, then its reservation **released**
 * (deleted only while it is still ours: same ETag and write id), in that order: while we hold it, every
 * multipart upload of the key is ours.
 *
 * **Writes that land after we gave up on them.** When S3 times out or a connection breaks before its
 * answer, the outcome is unknown: S3 may carry the request out later (seen: a stalled server completing
 * a PutObject once it resumed). The client was told the upload failed, so a late object would be one it
 * does not know about (a form's key it never learnt; a PUT's retry answered 409). So every create-only
 * write carries a random **write id** in its metadata (the reservation too), and a write with an unknown
 * outcome is **retracted**: once S3 answers again, an object at the key that carries our id is deleted,
 * and once more a request timeout later, for a request S3 had queued; an upload whose
 * CreateMultipartUpload answer was lost is found by listing the reserved key's uploads. Safe by
 * construction: no other writer's object carries our id, and a create-only key has no other writer while
 * our object or reservation is on it. Overwriting storages are not retracted (a late overwrite has
 * already replaced the previous object; deleting it would lose both).
 *
 * Cleanups that cannot reach S3 are retried in the background (background-cleanups.ts); if the process
 * dies first, the bucket's AbortIncompleteMultipartUpload rule takes the upload and reservations expire.
 * The part writer (part-writer.ts) is the one user of all this for multipart uploads; single-put.ts for
 * single requests.
 */

// randomUUID draws from a cached entropy pool: no syscall per upload, unlike randomBytes.
export const newWriteId = (): string => randomUUID();

/**
 * The failure leaves the write's outcome unknown: S3 could not be reached, did not answer in time, or
 * failed internally (500). Not when S3 answered 503 (SlowDown, ServiceUnavailable): that request was
 * not carried out, and looking for it would only add requests to an S3 that asks for fewer.
 */
export const outcomeUnknown = (failure: unknown): boolean =>
  isUnreachable(failure) && !(failure instanceof Error && httpStatusOf(failure.cause) === 503);

/** Deletes the object at `key` if it is our write's (resolves when there is nothing of ours there). */
export async function retract(context: S3Context, key: string, writeId: string): Promise<void> {
  let current: { ETag?: string | undefined; Metadata?: Record<string, string> | undefined };
  try {
    current = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (current.Metadata?.[metaKeys.writeId] !== writeId) return;
  await withIfMatch(
    current.ETag ?? '',
    (IfMatch) => context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key, IfMatch })),
    context.client,
  );
}

/**
 * Aborts the multipart uploads in progress for `key`: the one whose CreateMultipartUpload answer was
 * lost has no id we know. Only for a key we hold the reservation of, where no other live writer can
 * have an upload.
 */
export async function abortUploadsOf(context: S3Context, key: string): Promise<void> {
  // One page (up to 1,000) is enough: uploads are listed by key, `key` sorts before every longer key it
  // prefixes, and while we hold the reservation only our own uploads (one per attempt) can be at `key`.
  const listed = await context.client.send(
    new ListMultipartUploadsCommand({ Bucket: context.bucket, Prefix: key }),
  );
  for (const upload of listed.Uploads ?? []) {
    if (upload.Key !== key || upload.UploadId === undefined) continue;
    await context.client
      .send(new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: key, UploadId: upload.UploadId }))
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error; // NoSuchUpload: completed or aborted meanwhile
      });
  }
}

/** Retracts a single-request write whose outcome is unknown (see above); never rejects. */
export function retractLateWrite(context: S3Context, key: string, writeId: string): Promise<void> {
  const step = () => retract(context, key, writeId);
  return context.cleanups.run([step], {
    recheck: { afterMs: context.connection.requestTimeout * 1000, steps: [step] },
  });
}

export interface Reservation {
  key: string;
  etag: string;
  /** The write id it carries: which writer it belongs to (ETags repeat, reservation-body.ts). */
  writeId: string;
}

const exists = (cause?: unknown) =>
  new AppError('OBJECT_EXISTS', 'An object with this key already exists', {
    backend: { operation: 'PutObject', code: 'PreconditionFailed' },
    cause,
  });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The PutObject of a reservation-shaped object (hidden from every read and list), without condition.
 * Also what the conditional-writes probe writes (conditions-probe.ts), so a probe left behind is
 * invisible too.
 */
export function reservationParams(
  bucket: string,
  profile: S3ProfileConfig,
  key: string,
  metadata: { expiresAt: number; writeId?: string },
  size = reservationSize(),
): PutObjectCommandInput {
  return {
    Bucket: bucket,
    Key: key,
    Body: reservationBody(size),
    ContentLength: size,
    ContentType: 'application/octet-stream',
    CacheControl: 'no-store',
    Metadata: {
      [metaKeys.reservation]: String(metadata.expiresAt),
      ...(metadata.writeId !== undefined && { [metaKeys.writeId]: metadata.writeId }),
    },
    // A bucket policy may demand these on every PutObject.
    ...encryptionParams(profile),
    ...(profile.acl !== undefined && { ACL: profile.acl }),
  };
}

async function writeReservation(
  context: S3Context,
  key: string,
  writeId: string,
  condition: { IfNoneMatch: '*' } | { IfMatch: string },
  size: number,
): Promise<Reservation> {
  const expiresAt = Date.now() + context.reservationTtlSeconds * 1000;
  const output = await context.client.send(
    new PutObjectCommand({
      ...reservationParams(context.bucket, context.profile, key, { expiresAt, writeId }, size),
      ...condition,
    }),
  );
  return { key, etag: output.ETag ?? '', writeId };
}

/**
 * Claims `key` for a create-only multipart upload (tagged with the upload's write id); rejects with
 * OBJECT_EXISTS when it is taken.
 */
export async function reserve(context: S3Context, key: string, writeId: string): Promise<Reservation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeReservation(context, key, writeId, { IfNoneMatch: '*' }, reservationSize());
    } catch (error) {
      // 409: another conditional write to this key is in flight (AWS); the next try gets 412 or wins.
      if (isConditionalConflict(error) && attempt < 3) {
        await pause(100 * attempt);
        continue;
      }
      if (!isPreconditionFailed(error)) throw toAppError(error, { operation: 'PutObject', createOnly: true });
    }
    // The key is taken: by an object, a live reservation, or the reservation of a writer that died.
    let current: {
      ETag?: string | undefined;
      ContentLength?: number | undefined;
      Metadata?: Record<string, string> | undefined;
    };
    try {
      current = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error) && attempt < 3) continue; // deleted meanwhile: claim it again
      throw toAppError(error, { operation: 'HeadObject' });
    }
    if (!isReservation(current.Metadata) || reservationExpiry(current.Metadata) > Date.now()) throw exists();
    try {
      return await withIfMatch(
        current.ETag ?? '',
        (IfMatch) =>
          writeReservation(context, key, writeId, { IfMatch }, reservationSize(current.ContentLength)),
        context.client,
      );
    } catch (error) {
      if (isPreconditionFailed(error) || isConditionalConflict(error)) throw exists(error);
      throw toAppError(error, { operation: 'PutObject', createOnly: true });
    }
  }
}

/**
 * Removes our reservation after a failed upload (rejects with S3's error; background-cleanups.ts retries it when
 * S3 was unreachable). It is deleted only while it is still ours (same ETag and write id): the upload may have
 * completed after all, or an overwrite may have replaced it. DeleteObject's If-Match closes the
 * remaining race where supported (AWS; Ceph 16 ignores it). A reservation left behind is invisible to
 * readers and expires.
 */
export async function release(context: S3Context, reservation: Reservation): Promise<void> {
  const current = await context.client.send(
    new HeadObjectCommand({ Bucket: context.bucket, Key: reservation.key }),
  );
  const ours =
    isReservation(current.Metadata) &&
    sameEtag(current.ETag, reservation.etag) &&
    current.Metadata?.[metaKeys.writeId] === reservation.writeId;
  if (!ours) return;
  await withIfMatch(
    reservation.etag,
    (IfMatch) =>
      context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: reservation.key, IfMatch })),
    context.client,
  );
}
export interface FailedUpload {
  key: string;
  /** Known once S3 answered CreateMultipartUpload. */
  uploadId: string | undefined;
  /** The create-only reservation, once S3 answered it. */
  reservation: Reservation | undefined;
  /** Set when the failure left the outcome unknown and the write is create-only (see the top of this file). */
  lateWriteId?: string | undefined;
}

/**
 * Cleans up after a failed multipart upload (see above); never rejects. With an unknown outcome, also
 * what may land late: an upload whose CreateMultipartUpload answer was lost (no id: every upload of the
 * reserved key is aborted), and a completion or reservation S3 carries out after we gave up (retracted
 * by write id, then once more a request timeout later).
 */
export function cleanUpUpload(context: S3Context, failed: FailedUpload): Promise<void> {
  const { key, uploadId, reservation, lateWriteId } = failed;
  const abort = (UploadId: string) => () =>
    context.client.send(new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: key, UploadId }));
  const lostUpload = uploadId === undefined && lateWriteId !== undefined && reservation !== undefined;
  const retractLate: CleanupStep[] =
    lateWriteId !== undefined ? [() => retract(context, key, lateWriteId)] : [];
  return context.cleanups.run(
    [
      ...(uploadId !== undefined ? [abort(uploadId)] : []),
      // Before the release: while we hold the reservation, every upload of the key is ours.
      ...(lostUpload ? [() => abortUploadsOf(context, key)] : []),
      ...(reservation !== undefined ? [() => release(context, reservation)] : []),
      ...retractLate,
    ],
    retractLate.length > 0
      ? { recheck: { afterMs: context.connection.requestTimeout * 1000, steps: retractLate } }
      : {},
  );
}
