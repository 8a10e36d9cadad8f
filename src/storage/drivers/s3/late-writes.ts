import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import type { S3Context } from './context.ts';
import { httpStatusOf, isNotFound, isUnreachable } from './errors.ts';
import { metaKeys } from './metadata.ts';
import { withIfMatch } from './reservation.ts';

/**
 * Writes that land after we gave up on them. When S3 times out, or a connection breaks before its
 * answer, the outcome of a request is unknown: S3 may already hold the whole request and carry it out
 * later (seen: a stalled server completing a PutObject once it resumes). The client was told the
 * upload failed, so a late object would be one it does not know about — for a form, under a key it
 * never learnt; for a PUT, one that answers its retry with 409.
 *
 * So every create-only write carries a random write id in its metadata (the reservation too), and a
 * write with an unknown outcome is retracted: once S3 answers again, any object at the key that carries
 * our id is deleted; and once more a request timeout later, for a request S3 had queued. Safe by
 * construction: no other writer's object carries our id, and a create-only key has no other writer
 * while our object or reservation is on it. Overwriting storages are not retracted (a late overwrite
 * has already replaced the previous object; deleting it would lose both).
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
  await withIfMatch(current.ETag ?? '', (IfMatch) =>
    context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key, IfMatch })),
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
