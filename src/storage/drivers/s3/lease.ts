import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AppError } from '../../../errors.ts';
import type { S3Context } from './context.ts';
import { isConditionalConflict, isNotFound, isPreconditionFailed, toAppError } from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { encryptionParams } from './params.ts';

/**
 * A lease on one resumable upload, so a second concurrent PATCH is refused at once (423) instead of
 * racing the first. Only a fast refusal: correctness never depends on it (fixed part size,
 * idempotent parts, create-only completion). Taken with a conditional PutObject: `If-None-Match: *`
 * when there is none, `If-Match` on the ETag of one that expired or was released; released by
 * overwriting it, with `If-Match` on our own ETag, with one that has expired — never by a
 * look-then-delete, which could delete the next holder's. Each lease body is a fresh holder id, so
 * every write has a new ETag. The object is removed with the upload's other state.
 */
const EXPIRES = 'stowage-lease-expires';

export interface Lease {
  release(): Promise<void>;
}

export async function takeLease(context: S3Context, leaseKey: string, ttlSeconds: number): Promise<Lease> {
  let etag: string;
  try {
    etag = await write(context, leaseKey, Date.now() + ttlSeconds * 1000, { IfNoneMatch: '*' });
  } catch (error) {
    if (!isPreconditionFailed(error) && !isConditionalConflict(error))
      throw toAppError(error, { operation: 'PutObject' });
    etag = await takeOver(context, leaseKey, ttlSeconds);
  }
  return {
    release: () =>
      withIfMatch(etag, (IfMatch) => write(context, leaseKey, 0, { IfMatch })).then(
        () => undefined,
        // Taken over meanwhile (ours had expired), or S3 is away: the lease expires on its own.
        () => undefined,
      ),
  };
}

async function takeOver(context: S3Context, leaseKey: string, ttlSeconds: number): Promise<string> {
  let current: { ETag?: string | undefined; Metadata?: Record<string, string> | undefined };
  try {
    current = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: leaseKey }));
  } catch (error) {
    if (isNotFound(error)) throw locked(); // released and removed meanwhile: the client retries
    throw toAppError(error, { operation: 'HeadObject' });
  }
  if (Number(current.Metadata?.[EXPIRES] ?? 0) > Date.now()) throw locked();
  try {
    return await withIfMatch(current.ETag ?? '', (IfMatch) =>
      write(context, leaseKey, Date.now() + ttlSeconds * 1000, { IfMatch }),
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
): Promise<string> {
  const body = Buffer.from(randomUUID());
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
