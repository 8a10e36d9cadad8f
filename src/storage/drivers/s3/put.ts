import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '../../../errors.ts';
import type { PutInput, PutResult } from '../../driver.ts';
import { abortReason, type BodyReader, openBody } from './body.ts';
import type { S3Context } from './context.ts';
import {
  cleanUpUpload,
  newWriteId,
  outcomeUnknown,
  type Reservation,
  reserve,
  retractLateWrite,
} from './create-only.ts';
import {
  httpStatusOf,
  isConditionalConflict,
  isPreconditionFailed,
  isUnreachable,
  toAppError,
} from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { metaKeys, quoteEtag } from './metadata.ts';
import { objectParams } from './params.ts';
import { headObject } from './read.ts';

/**
 * Streamed writes. The first partSize bytes decide the path: a body that ends within them is sent as
 * one PutObject (create-only: If-None-Match: *, decided atomically by S3); a longer one goes through
 * lib-storage's multipart Upload, create-only behind a reservation (create-only.ts). Memory per upload
 * stays ≈ (queueSize + 1) × partSize whatever the body's size.
 *
 * Replacing writes: `ifMatch` goes to S3 as If-Match, atomic for one PutObject (AWS, Ceph 16). On a
 * multipart upload it goes on CompleteMultipartUpload (atomic on AWS; Ceph 16 ignores it there), and
 * the key is looked at again once the whole body has been read, so on Ceph the object can still
 * change unseen only while the last part is sent and the upload completed. Whether a write replaced
 * an object: a single PutObject tries If-None-Match: * first (exact; a second request only when it
 * replaces); a multipart upload looks at the key when the body has been read.
 */
export async function putObject(context: S3Context, input: PutInput): Promise<PutResult> {
  const body = openBody(input.body, input.signal);
  try {
    const head = await body.readHead(context.profile.partSize);
    const params = objectParams(context.bucket, context.profile, input.key, input.metadata);
    // Create-only writes are tagged, so one that lands after we gave up on it can be retracted.
    const writeId = input.overwrite ? undefined : newWriteId();
    if (writeId !== undefined) params.Metadata = { ...params.Metadata, [metaKeys.writeId]: writeId };
    if (head.ended) {
      const data = head.chunks.length === 1 && head.chunks[0] ? head.chunks[0] : Buffer.concat(head.chunks);
      checkLength(input, data.length);
      throwIfAborted(input.signal);
      if (writeId !== undefined) return await putCreateOnly(context, params, data, writeId);
      return await putReplacing(context, params, data, input.ifMatch);
    }
    throwIfAborted(input.signal);
    return await putMultipart(context, params, input, body, head.chunks, writeId);
  } finally {
    body.release();
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** A body that disagrees with its declared length is truncated or padded: never store it. */
function checkLength(input: PutInput, size: number): void {
  if (input.contentLength !== undefined && size !== input.contentLength) {
    throw new AppError('BAD_REQUEST', 'The body length does not match its declared Content-Length', {
      details: { expected: input.contentLength, received: size },
    });
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One create-only PutObject (If-None-Match: *), tagged with the write's id. */
async function putCreateOnly(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  writeId: string,
): Promise<PutResult> {
  const key = params.Key as string;
  for (let attempt = 1; ; attempt++) {
    let etag: string | undefined;
    try {
      const output = await context.client.send(
        new PutObjectCommand({
          ...params,
          Body: data,
          ContentLength: data.length,
          IfNoneMatch: '*',
        }),
      );
      etag = output.ETag;
    } catch (error) {
      // 409: a concurrent conditional write is in flight (AWS). The body is in memory, so replay it:
      // the retry either wins or gets 412 once the other write has landed.
      if (isConditionalConflict(error) && attempt < 3) {
        await pause(100 * attempt);
        continue;
      }
      const failure = toAppError(error, { operation: 'PutObject', createOnly: true });
      if (outcomeUnknown(failure)) void retractLateWrite(context, key, writeId);
      throw failure;
    }
    return { key, size: data.length, etag: await etagOf(context, key, etag, writeId), replaced: false };
  }
}

/**
 * One PutObject that may replace an object. With ifMatch, only that object (the quoted form first,
 * then the bare one Ceph 16 compares: see withIfMatch). Without, If-None-Match: * first so the answer
 * says whether something was replaced; a server without conditional writes (501) gets the plain write.
 */
async function putReplacing(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  ifMatch: string | undefined,
): Promise<PutResult> {
  const key = params.Key as string;
  const send = async (condition: { IfMatch?: string; IfNoneMatch?: string }) =>
    (
      await context.client.send(
        new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, ...condition }),
      )
    ).ETag;
  let etag: string | undefined;
  let replaced = true;
  try {
    if (ifMatch !== undefined) etag = await withIfMatch(ifMatch, (IfMatch) => send({ IfMatch }));
    else {
      try {
        etag = await send({ IfNoneMatch: '*' });
        replaced = false;
      } catch (error) {
        const status = httpStatusOf(error);
        if (!isPreconditionFailed(error) && !isConditionalConflict(error) && status !== 501) throw error;
        replaced = status !== 501;
        etag = await send({});
      }
    }
  } catch (error) {
    throw toAppError(error, { operation: 'PutObject' });
  }
  return { key, size: data.length, etag: await etagOf(context, key, etag, undefined), replaced };
}

async function putMultipart(
  context: S3Context,
  params: PutObjectCommandInput,
  input: PutInput,
  body: BodyReader,
  head: Buffer[],
  /** Set for create-only writes. */
  writeId: string | undefined,
): Promise<PutResult> {
  const createOnly = writeId !== undefined;
  let reservation: Reservation | undefined;
  try {
    reservation = createOnly ? await reserve(context, input.key, writeId) : undefined;
  } catch (error) {
    // A reservation that lands late would hold the key for its whole TTL.
    if (writeId !== undefined && outcomeUnknown(error)) void retractLateWrite(context, input.key, writeId);
    throw error;
  }
  let size = 0;
  let replaced = false;
  async function* source(): AsyncGenerator<Buffer> {
    for (let chunk = head.shift(); chunk !== undefined; chunk = head.shift()) {
      size += chunk.length;
      yield chunk;
    }
    for (let chunk = await body.read(); chunk !== undefined; chunk = await body.read()) {
      size += chunk.length;
      yield chunk;
    }
    checkLength(input, size);
    // Before the last part is sent: what is at the key now (see the top of the file).
    if (!createOnly) replaced = await stillMatches(context, input.key, input.ifMatch);
  }
  const stream = Readable.from(source(), { objectMode: true, highWaterMark: 1 });
  // Failures reach us through upload.done(); an 'error' event must never go unheard.
  stream.on('error', () => {});
  let upload: Upload | undefined;
  let etag: string | undefined;
  try {
    throwIfAborted(input.signal); // aborted while reserving: nothing to upload
    // No conditions: with a reservation it replaces only our own reservation (and servers may ignore
    // If-None-Match on CompleteMultipartUpload anyway).
    upload = new Upload({
      client: context.client,
      // lib-storage passes the params on to CompleteMultipartUpload, If-Match included.
      params: { ...params, Body: stream, ...(input.ifMatch !== undefined && { IfMatch: input.ifMatch }) },
      partSize: context.profile.partSize,
      queueSize: context.profile.queueSize,
      // The multipart upload is aborted by cleanUpUpload below, once: lib-storage's own abort would make
      // done() wait for it, a whole request timeout when S3 is what failed.
      leavePartsOnError: true,
    });
    // A failing body (or part) makes lib-storage's chunker throw; done() rejects once the parts in
    // flight have settled. (upload.abort() would reject at once, with parts still in flight, so it is
    // not used.)
    etag = (await upload.done()).ETag;
  } catch (error) {
    stream.destroy();
    // The body's own failure (or the abort) explains the failure better than what it did to the upload.
    const aborted = input.signal?.aborted ? abortReason(input.signal) : undefined;
    const failure = body.error ?? aborted ?? toAppError(error, { operation: 'MultipartUpload', createOnly });
    const cleanup = cleanUpUpload(context, {
      key: input.key,
      uploadId: upload?.uploadId,
      reservation,
      // The failure may be S3's answer to the completion that never came: it may still complete.
      lateWriteId: outcomeUnknown(failure) ? writeId : undefined,
    });
    // S3 works: clean up before answering, so nothing is left once the client has its answer. S3 is
    // what failed: cleaning up now would wait on it again (a timeout per request), so answer within
    // the deadline and let the cleanup run on its own (it never rejects).
    if (!isUnreachable(failure)) await cleanup;
    throw failure;
  }
  return { key: input.key, size, etag: await etagOf(context, input.key, etag, writeId), replaced };
}

/**
 * Whether an object is at `key` (a reservation is none); with ifMatch, PRECONDITION_FAILED unless
 * it is still that one.
 */
async function stillMatches(context: S3Context, key: string, ifMatch: string | undefined): Promise<boolean> {
  const current = await headObject(context, key).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'OBJECT_NOT_FOUND') return undefined;
    throw error;
  });
  if (ifMatch !== undefined && current?.etag !== ifMatch)
    throw new AppError(
      'PRECONDITION_FAILED',
      'The stored object changed: it does not match If-Match any more',
    );
  return current !== undefined;
}

/**
 * Ceph RGW returns an empty ETag from CompleteMultipartUpload; HeadObject has the real one. If that
 * fails the upload is answered as failed, so a create-only object is retracted like a late write: an
 * error answer never leaves an object behind that the client does not know about.
 */
async function etagOf(
  context: S3Context,
  key: string,
  etag: string | undefined,
  writeId: string | undefined,
): Promise<string> {
  if (etag) return quoteEtag(etag);
  try {
    const output = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
    return quoteEtag(output.ETag ?? '');
  } catch (error) {
    if (writeId !== undefined) void retractLateWrite(context, key, writeId);
    throw toAppError(error, { operation: 'HeadObject' });
  }
}
