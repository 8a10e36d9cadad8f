import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import type { S3Context } from './context.ts';
import { isConditionalConflict, isNotFound, isPreconditionFailed, toAppError } from './errors.ts';
import { isReservation, metaKeys, reservationExpiry, sameEtag } from './metadata.ts';
import { encryptionParams } from './params.ts';
import { reservationBody, reservationSize } from './reservation-body.ts';

/**
 * Create-only reservations: atomic "never overwrite" for multipart uploads, on servers that ignore
 * If-None-Match on CompleteMultipartUpload (Ceph RGW does; AWS and MinIO honour it).
 *
 * Before a multipart upload, the writer claims the key with a small conditional PutObject
 * (If-None-Match: *), which every server we target decides atomically. The multipart upload then only
 * ever replaces the writer's own reservation. A reservation whose writer died is taken over once it has
 * expired, with If-Match on its ETag. Its body (reservation-body.ts) is recognisable in listings, and
 * a takeover writes one of another size, so its ETag differs from the one it replaces.
 *
 * The TTL must exceed the longest upload (the server's request timeout), or a live writer's
 * reservation could be taken over.
 */

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
 * Sends an If-Match write, first with the quoted ETag (HTTP, AWS), then bare: Ceph RGW 16 compares
 * If-Match against the unquoted ETag and fails a correct quoted one with 412. Atomic either way.
 */
export async function withIfMatch<T>(etag: string, send: (ifMatch: string) => Promise<T>): Promise<T> {
  const bare = etag.replace(/^"|"$/g, '');
  try {
    return await send(`"${bare}"`);
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    return await send(bare);
  }
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
      return await withIfMatch(current.ETag ?? '', (IfMatch) =>
        writeReservation(context, key, writeId, { IfMatch }, reservationSize(current.ContentLength)),
      );
    } catch (error) {
      if (isPreconditionFailed(error) || isConditionalConflict(error)) throw exists(error);
      throw toAppError(error, { operation: 'PutObject', createOnly: true });
    }
  }
}

/**
 * Removes our reservation after a failed upload (rejects with S3's error; cleanup.ts retries it when
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
  await withIfMatch(reservation.etag, (IfMatch) =>
    context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: reservation.key, IfMatch })),
  );
}
