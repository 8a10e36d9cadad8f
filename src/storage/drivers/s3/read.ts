import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { AppError } from '../../../errors.ts';
import type { GetInput, GetResult, ListInput, ListResult, ObjectInfo } from '../../driver.ts';
import { DIRECT_STAGING_PREFIX, RESUMABLE_STATE_PREFIX } from '../../keys.ts';
import type { S3Context } from './context.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { httpStatusOf, isNotFound, s3ErrorCode, toAppError } from './errors.ts';
import {
  isReservation,
  noneMatchHits,
  parseContentRange,
  quoteEtag,
  type S3ObjectHeaders,
  toObjectInfo,
} from './metadata.ts';
import { isListedReservation, mayBeReservation } from './reservation-body.ts';

/** Reads. A create-only reservation (create-only.ts) is not an object: it reads as absent everywhere. */

export const notFound = (operation: string) =>
  new AppError('OBJECT_NOT_FOUND', 'Object not found', { backend: { operation, code: 'NoSuchKey' } });

export async function headObject(context: S3Context, key: string): Promise<ObjectInfo> {
  let output: Awaited<ReturnType<typeof sendHead>>;
  try {
    output = await sendHead(context, key);
  } catch (error) {
    throw toAppError(error, { operation: 'HeadObject' });
  }
  if (isReservation(output.Metadata)) throw notFound('HeadObject');
  return toObjectInfo(key, output);
}

const sendHead = (context: S3Context, key: string) =>
  context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));

export async function getObject(context: S3Context, input: GetInput): Promise<GetResult> {
  let output: GetObjectCommandOutput;
  try {
    output = await context.client.send(
      new GetObjectCommand({
        Bucket: context.bucket,
        Key: input.key,
        ...(input.range && { Range: `bytes=${input.range.start}-${input.range.end}` }),
        ...(input.ifNoneMatch !== undefined && { IfNoneMatch: input.ifNoneMatch }),
      }),
      input.signal ? { abortSignal: input.signal } : {},
    );
  } catch (error) {
    // The SDK turns 304 into an error.
    if (httpStatusOf(error) === 304) {
      const header = (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.etag;
      return { notModified: true, info: { etag: await notModifiedEtag(context, input, header) } };
    }
    if (s3ErrorCode(error) === 'InvalidRange' || httpStatusOf(error) === 416)
      throw await rangeNotSatisfiable(context, input, error);
    throw toAppError(error, { operation: 'GetObject' });
  }
  const body = output.Body;
  if (!(body instanceof Readable)) {
    (body as { destroy?: () => void } | undefined)?.destroy?.();
    throw new AppError('STORAGE_ERROR', 'The storage backend returned no readable body', {
      backend: { operation: 'GetObject' },
    });
  }
  return objectAnswer(input, output, body);
}

/**
 * A 200 or 206 GetObject answer (the SDK's or quick-get.ts's) as the driver gives it: a reservation
 * reads as absent, a tag If-None-Match holds is a 304 (servers differ: Ceph honours only one tag).
 */
export function objectAnswer(
  input: GetInput,
  output: S3ObjectHeaders & { ContentRange?: string | undefined },
  body: Readable,
): GetResult {
  if (isReservation(output.Metadata)) {
    body.destroy();
    throw notFound('GetObject');
  }
  const range = parseContentRange(output.ContentRange);
  const total = range?.total ?? output.ContentLength ?? 0;
  const info = toObjectInfo(input.key, output, total);
  if (input.ifNoneMatch !== undefined && noneMatchHits(input.ifNoneMatch, info.etag)) {
    body.destroy();
    return { notModified: true, info };
  }
  // A server that ignores Range answers 200 with the whole object: then there is no range to report.
  return {
    notModified: false,
    info,
    body,
    ...(range && { range: { start: range.start, end: range.end, total } }),
  };
}

/** The ETag of a 304: from the response when the server sends it (AWS), else from the request or a HEAD (Ceph sends none). */
export async function notModifiedEtag(
  context: S3Context,
  input: GetInput,
  header: string | undefined,
): Promise<string> {
  if (header) return quoteEtag(header);
  const requested = input.ifNoneMatch?.trim() ?? '';
  if (/^(W\/)?"[^",]*"$/.test(requested)) return requested;
  return (await headObject(context, input.key)).etag;
}

/**
 * 416 with `Content-Range: bytes *\/size` (RFC 9110 §15.5.17), the size from a HEAD when it can be had;
 * the same details as the local driver's.
 */
async function rangeNotSatisfiable(context: S3Context, input: GetInput, cause: unknown): Promise<AppError> {
  const size = await headObject(context, input.key).then(
    (info) => info.size,
    () => undefined,
  );
  return new AppError('RANGE_NOT_SATISFIABLE', 'The requested range is not satisfiable', {
    ...(input.range && { details: { ...input.range, ...(size !== undefined && { size }) } }),
    backend: { operation: 'GetObject', code: s3ErrorCode(cause) ?? 'InvalidRange' },
    cause,
    ...(size !== undefined && { headers: { 'Content-Range': `bytes */${size}` } }),
  });
}

export async function listObjects(context: S3Context, input: ListInput): Promise<ListResult> {
  try {
    const output = await context.client.send(
      new ListObjectsV2Command({
        Bucket: context.bucket,
        Prefix: input.prefix,
        MaxKeys: input.limit,
        ...(input.cursor !== undefined && { ContinuationToken: decodeCursor(input.prefix, input.cursor) }),
      }),
    );
    const entries = output.Contents ?? [];
    const hidden = await hiddenEntries(context, entries);
    const objects = entries
      // Resumable uploads' state and unverified direct uploads, at the bucket root: visible to a storage
      // with an empty prefix only.
      .filter(
        (entry, index) =>
          entry.Key !== undefined &&
          !hidden[index] &&
          !entry.Key.startsWith(RESUMABLE_STATE_PREFIX) &&
          !entry.Key.startsWith(DIRECT_STAGING_PREFIX),
      )
      .map((entry) => ({
        key: entry.Key as string,
        size: entry.Size ?? 0,
        etag: quoteEtag(entry.ETag ?? ''),
        lastModified: entry.LastModified ?? new Date(0),
      }));
    const token = output.IsTruncated ? output.NextContinuationToken : undefined;
    const nextCursor = token === undefined ? undefined : encodeCursor(input.prefix, token);
    return { objects, ...(nextCursor !== undefined && { nextCursor }) };
  } catch (error) {
    if (error instanceof AppError) throw error;
    // AWS answers 400 InvalidArgument to a continuation token it did not issue.
    if (input.cursor !== undefined && httpStatusOf(error) === 400) {
      throw new AppError('BAD_REQUEST', 'The list cursor is invalid', {
        backend: { operation: 'ListObjectsV2', code: s3ErrorCode(error) ?? 'Unknown' },
        cause: error,
      });
    }
    throw toAppError(error, { operation: 'ListObjectsV2' });
  }
}

/** HEADs in flight per list call on storages whose ETags say nothing (KMS). */
const HEAD_CONCURRENCY = 4;

/**
 * Which listed entries are reservations (hidden from clients). Decided from the listing alone
 * (reservation-body.ts): one list call is one S3 request. With KMS encryption S3's ETags are not the
 * MD5 of the body, so there the entries of a reservation's size are HEADed, a few at a time.
 */
async function hiddenEntries(
  context: S3Context,
  entries: ReadonlyArray<{ Key?: string | undefined; Size?: number | undefined; ETag?: string | undefined }>,
): Promise<boolean[]> {
  const sse = context.profile.serverSideEncryption;
  if (sse !== 'aws:kms' && sse !== 'aws:kms:dsse')
    return entries.map((entry) => isListedReservation(entry.Size, entry.ETag));
  const hidden = entries.map(() => false);
  const candidates = entries.flatMap((entry, index) =>
    entry.Key !== undefined && mayBeReservation(entry.Size) ? [{ key: entry.Key, index }] : [],
  );
  const worker = async () => {
    for (let next = candidates.shift(); next !== undefined; next = candidates.shift())
      hidden[next.index] = await isHidden(context, next.key);
  };
  await Promise.all(Array.from({ length: HEAD_CONCURRENCY }, worker));
  return hidden;
}

async function isHidden(context: S3Context, key: string): Promise<boolean> {
  try {
    return isReservation((await sendHead(context, key)).Metadata);
  } catch (error) {
    if (isNotFound(error)) return true; // deleted since the listing
    throw toAppError(error, { operation: 'HeadObject' });
  }
}
