import { createHash, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import type { S3Context } from './context.ts';
import { isConditionalConflict, isNotFound, isPreconditionFailed, toAppError } from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { encryptionParams, etagIsBodyMd5 } from './params.ts';

/**
 * A lease on one resumable upload, so a second concurrent PATCH is refused at once (423) instead of
 * racing the first. Only a fast refusal: correctness never depends on it (fixed part size,
 * idempotent parts, create-only completion). Taken with a conditional PutObject: `If-Match` on the
 * released lease's ETag, `If-None-Match: *` when there is none, `If-Match` on the ETag of one that
 * expired; released by overwriting it, with `If-Match` on our own ETag, with the released body —
 * never by a look-then-delete, which could delete the next holder's. A holder's body is a fresh
 * holder id, so every take and renewal has a new ETag; every released lease has the same fixed body
 * and expiry 0, so its ETag (the body's MD5, without KMS) is known in advance and a PATCH after
 * another takes the lease in one request (no HEAD, no refused `If-None-Match`). Any released lease
 * is free, so which release wrote it does not matter. The object is removed with the upload's other
 * state.
 *
 * **Short and renewed.** The lease lasts LEASE_TTL_MS and its holder renews it (If-Match on its own
 * ETag) every third of that while the request runs. An instance killed mid-PATCH cannot release
 * it, and its lease then blocks the upload (423) until it expires: a few seconds, within the retries
 * tus-js-client makes by default (0, 1, 3 and 5 s) — a lease as long as the longest request would
 * make those clients give up. A renewal that fails (S3 away, or taken over after a stall past the
 * TTL) ends the renewals; the request goes on, since correctness never depends on the lease.
 * The expiry is the holder's clock: instances whose clocks differ by seconds (no NTP) make a dead
 * holder's lease last that much longer, or a live one's be taken over early (harmless, see above).
 */
const EXPIRES = 'stowage-lease-expires';
/** The body of every released lease (a holder's is its random holder id, never this). */
const RELEASED = Buffer.from('stowage-lease released');
const RELEASED_MD5 = createHash('md5').update(RELEASED).digest('hex');
export const LEASE_TTL_MS = 5000;

export interface Lease {
  /** `ended`: the upload turned out finished or gone, so the lease object itself is deleted. */
  release(ended?: boolean): Promise<void>;
}

export async function takeLease(context: S3Context, leaseKey: string, ttlMs = LEASE_TTL_MS): Promise<Lease> {
  let etag = await take(context, leaseKey, ttlMs);
  // One write at a time on the lease: a renewal in flight finishes before the release is sent.
  let last: Promise<unknown> = Promise.resolve();
  /** Still ours as far as we know (no renewal failed). */
  let held = true;
  let released = false;
  const renewal = setInterval(() => {
    last = last.then(async () => {
      if (!held || released) return;
      try {
        etag = await withIfMatch(
          etag,
          (IfMatch) => write(context, leaseKey, Date.now() + ttlMs, { IfMatch }),
          context.client,
        );
      } catch {
        held = false;
        clearInterval(renewal);
      }
    });
  }, ttlMs / 3);
  renewal.unref();
  return {
    release: (ended = false) => {
      clearInterval(renewal);
      released = true;
      // An ended upload has no next holder, and nothing but gc or a lifecycle rule would remove
      // its lease: delete it (a PATCH or HEAD of an ended upload never takes it again).
      const releasing = last.then((): Promise<unknown> | undefined =>
        ended
          ? context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: leaseKey }))
          : held
            ? withIfMatch(
                etag,
                (IfMatch) => write(context, leaseKey, 0, { IfMatch }, RELEASED),
                context.client,
              )
            : undefined,
      );
      return releasing.then(
        () => undefined,
        // Taken over meanwhile (ours had expired), or S3 is away: the lease expires on its own.
        () => undefined,
      );
    },
  };
}

/** The lease's ETag right after a release, when S3 makes it the body's MD5 (no KMS). */
const releasedEtag = (profile: S3ProfileConfig): string | undefined =>
  etagIsBodyMd5(profile) ? RELEASED_MD5 : undefined;

/**
 * Free after a release (one request), never taken (two; three where S3 refuses both If-Match forms on
 * a missing key, as Ceph 16 does), or expired (three to five).
 */
async function take(context: S3Context, leaseKey: string, ttlMs: number): Promise<string> {
  const released = releasedEtag(context.profile);
  if (released !== undefined) {
    try {
      return await withIfMatch(
        released,
        (IfMatch) => write(context, leaseKey, Date.now() + ttlMs, { IfMatch }),
        context.client,
      );
    } catch (error) {
      // Held, expired or not there yet (AWS answers If-Match on a missing key with 404).
      if (!isPreconditionFailed(error) && !isConditionalConflict(error) && !isNotFound(error))
        throw toAppError(error, { operation: 'PutObject' });
    }
  }
  try {
    return await write(context, leaseKey, Date.now() + ttlMs, { IfNoneMatch: '*' });
  } catch (error) {
    if (!isPreconditionFailed(error) && !isConditionalConflict(error))
      throw toAppError(error, { operation: 'PutObject' });
    return await takeOver(context, leaseKey, ttlMs);
  }
}

async function takeOver(context: S3Context, leaseKey: string, ttlMs: number): Promise<string> {
  let current: { ETag?: string | undefined; Metadata?: Record<string, string> | undefined };
  try {
    current = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: leaseKey }));
  } catch (error) {
    if (isNotFound(error)) throw locked(); // released and removed meanwhile: the client retries
    throw toAppError(error, { operation: 'HeadObject' });
  }
  if (Number(current.Metadata?.[EXPIRES] ?? 0) > Date.now()) throw locked();
  try {
    return await withIfMatch(
      current.ETag ?? '',
      (IfMatch) => write(context, leaseKey, Date.now() + ttlMs, { IfMatch }),
      context.client,
    );
  } catch (error) {
    if (isPreconditionFailed(error) || isConditionalConflict(error)) throw locked();
    throw toAppError(error, { operation: 'PutObject' });
  }
}

async function write(
  context: S3Context,
  leaseKey: string,
  expiresAt: number,
  condition: { IfNoneMatch: '*' } | { IfMatch: string },
  body: Buffer = Buffer.from(randomUUID()),
): Promise<string> {
  const output = await context.client.send(
    new PutObjectCommand({
      Bucket: context.bucket,
      Key: leaseKey,
      Body: body,
      ContentLength: body.length,
      ContentType: 'application/octet-stream',
      Metadata: { [EXPIRES]: String(expiresAt) },
      ...encryptionParams(context.profile),
      ...condition,
    }),
  );
  return output.ETag ?? '';
}

const locked = () =>
  new AppError('UPLOAD_LOCKED', 'another request is writing to this upload', {
    headers: { 'retry-after': '1' },
  });
