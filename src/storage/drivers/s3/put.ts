import { AppError } from '../../../errors.ts';
import type { PutInput, PutResult, WriteShape } from '../../driver.ts';
import type { PartLease } from '../../part-pool.ts';
import { abortReason, type BodyReader, openBody } from './body.ts';
import { streamsKnownLengths } from './connection.ts';
import type { S3Context } from './context.ts';
import { newWriteId } from './create-only.ts';
import { metaKeys } from './metadata.ts';
import { objectParams } from './params.ts';
import { PartWriter } from './part-writer.ts';
import { headObject } from './read.ts';
import { putCreateOnly, putReplacing, putStreamed } from './single-put.ts';

/**
 * Writes, by what is known of the body before it is read:
 *
 * - **Streamed**: a create-only body of known length (raw PUT with Content-Length) goes to S3 as it
 *   arrives, in one PutObject (single-put.ts): no part buffer. Unsigned, or with signed payloads in
 *   signed chunks (chunk-signed-payload.ts), each chunk hashed as it passes: a payload signed whole
 *   needs the SHA-256 of the entire body before it is sent. Not with signed payloads and the SDK's
 *   checksums on (connection.ts `streamsKnownLengths`).
 * - **Buffered**: everything else fills the upload's part buffer (leased from the upload memory pool,
 *   part-pool.ts, and reused: never a fresh allocation per part). A body that ends within it is one
 *   PutObject; a longer one goes part by part through the part writer (part-writer.ts), up to
 *   `queueSize` parts in flight in buffers borrowed from the pool while it has room to spare — under
 *   pressure an upload goes on with its one buffer, slower, rather than failing.
 *
 * Replacing writes: `ifMatch` goes to S3 as If-Match, atomic for one PutObject (AWS, Ceph 16). On a
 * multipart upload it goes on CompleteMultipartUpload (atomic on AWS; Ceph 16 ignores it there), and
 * the key is looked at again once every part is sent, so on Ceph the object can still change unseen
 * only between that look and the completion. Whether a write replaced an object: a single PutObject
 * tries If-None-Match: * first (exact; a second request only when it replaces); a multipart upload
 * looks at the key when the body has been read.
 */

/** Below this a streamed body saves too little to give up the in-memory replay of a 409. */
const STREAM_MIN_BYTES = 2 ** 20;
/** S3's limit for one PutObject. */
const MAX_SINGLE_PUT = 5 * 2 ** 30;

function streams(context: S3Context, write: WriteShape): boolean {
  const length = write.contentLength;
  return (
    streamsKnownLengths(context.connection) &&
    !write.overwrite &&
    write.ifMatch === undefined &&
    length !== undefined &&
    length >= STREAM_MIN_BYTES &&
    length <= MAX_SINGLE_PUT
  );
}

/** The part buffer a write of this shape needs (see driver.ts). */
export function partBufferSize(context: S3Context, write: WriteShape): number {
  if (streams(context, write)) return 0;
  // No file is longer than maxFileSize: a body that tries is failed by the size meter once it has
  // filled a buffer that size and reads on.
  const { partSize, maxFileSize } = context.profile;
  return Math.min(partSize, maxFileSize, write.contentLength ?? write.atMost ?? Number.POSITIVE_INFINITY);
}

export async function putObject(context: S3Context, input: PutInput): Promise<PutResult> {
  const size = partBufferSize(context, input);
  let lease: PartLease | undefined;
  if (input.buffer === undefined && size > 0) {
    lease = await context.pool.acquire(size, {
      waitMs: context.bufferWaitMs,
      ...(input.signal && { signal: input.signal }),
    });
  }
  const body = openBody(input.body, input.signal);
  try {
    const params = objectParams(context.bucket, context.profile, input.key, input.metadata);
    // Create-only writes are tagged, so one that lands after we gave up on it can be retracted.
    const writeId = input.overwrite ? undefined : newWriteId();
    if (writeId !== undefined) params.Metadata = { ...params.Metadata, [metaKeys.writeId]: writeId };
    if (size === 0 && writeId !== undefined && input.contentLength !== undefined && input.contentLength > 0) {
      return await putStreamed(context, params, body, input.contentLength, writeId, input.signal);
    }
    const buffer = input.buffer ?? lease?.buffer ?? Buffer.alloc(0);
    const filled = await body.fill(buffer);
    if (filled < buffer.length || (await body.ended())) {
      const data = buffer.subarray(0, filled);
      checkLength(input, data.length);
      throwIfAborted(input.signal);
      // The whole body is in `data` and has passed the meter: its digest is this request's payload hash.
      const sha256 = input.sha256?.();
      if (writeId !== undefined) return await putCreateOnly(context, params, data, writeId, sha256);
      return await putReplacing(context, params, data, input.ifMatch, sha256);
    }
    if (buffer.length < context.profile.partSize) {
      // Only a body longer than declared gets here (the buffer was sized from its declared length).
      throw new AppError('BAD_REQUEST', 'The body is longer than its declared length');
    }
    throwIfAborted(input.signal);
    // The reservation and CreateMultipartUpload (two round trips) go while the next part is read: the
    // body is not left waiting on the socket for them. The first part is sent once the upload exists.
    const beginning = PartWriter.begin(context, params, {
      writeId,
      ifMatch: input.ifMatch,
      signal: input.signal,
    });
    // Observed at once: a failed begin (cleaned up by itself) may otherwise wait on a part being read.
    beginning.catch(() => undefined);
    try {
      const written = await sendParts(context, beginning, body, buffer, input.signal);
      checkLength(input, written);
      const writer = await beginning;
      // Before completing: what is at the key now (see the top of the file).
      const replaced = writeId === undefined && (await stillMatches(context, input.key, input.ifMatch));
      const etag = await writer.complete(input.signal);
      return { key: input.key, size: written, etag, replaced };
    } catch (error) {
      // The body's own failure (or the abort) explains the failure better than what it did to the upload.
      const failure = body.error ?? (input.signal?.aborted ? abortReason(input.signal) : error);
      // A begin that failed has cleaned up after itself; an upload that was begun is abandoned.
      const writer = await beginning.catch(() => undefined);
      await writer?.abandon(failure);
      throw failure;
    }
  } finally {
    body.release();
    lease?.release();
  }
}

/**
 * Sends the body as parts to the upload `beginning` creates, the first already in `own` (full): parts
 * are read while it is created and sent once it exists. Each further part is filled into a free
 * buffer — `own` when its part has been sent, else one borrowed from the pool (while fewer than
 * `queueSize` parts are in flight and the pool has room without anyone waiting) — and sent while the
 * next is filled. Borrowed buffers go back after each part, so an upload holds extra memory only while
 * nobody else needs it. Resolves with the bytes sent once every part is acknowledged.
 */
async function sendParts(
  context: S3Context,
  beginning: Promise<PartWriter>,
  body: BodyReader,
  own: Buffer,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { partSize, queueSize } = context.profile;
  const inFlight = new Set<Promise<void>>();
  let ownFree = false;
  let failure: { error: unknown } | undefined;
  let partNumber = 0;
  let total = 0;
  const send = (buffer: Buffer, bytes: number, lease: PartLease | undefined) => {
    partNumber += 1;
    total += bytes;
    const number = partNumber;
    const sending: Promise<void> = beginning
      .then((writer) => writer.uploadPart(number, buffer.subarray(0, bytes), signal))
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        inFlight.delete(sending);
        if (lease) lease.release();
        else ownFree = true;
      });
    inFlight.add(sending);
  };
  send(own, own.length, undefined);
  try {
    while (failure === undefined) {
      let lease: PartLease | undefined;
      if (!ownFree && inFlight.size < queueSize) lease = context.pool.tryAcquire(partSize);
      if (!ownFree && lease === undefined) {
        await Promise.race(inFlight);
        continue;
      }
      const buffer = lease?.buffer ?? own;
      if (lease === undefined) ownFree = false;
      let bytes: number;
      try {
        bytes = await body.fill(buffer);
      } catch (error) {
        lease?.release();
        if (lease === undefined) ownFree = true;
        throw error;
      }
      // The end of the body, or a part failed while this one was filling: send nothing more.
      if (bytes === 0 || failure !== undefined) {
        lease?.release();
        if (lease === undefined) ownFree = true;
        break;
      }
      if (partNumber >= S3_MAX_PARTS) throw tooManyParts();
      send(buffer, bytes, lease);
      if (bytes < partSize) break;
    }
  } finally {
    // Every part settles before the upload is completed or abandoned (an abort ends them quickly).
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw (failure as { error: unknown }).error;
  return total;
}

const S3_MAX_PARTS = 10_000;

const tooManyParts = () =>
  new AppError(
    'PAYLOAD_TOO_LARGE',
    `The body needs more than ${S3_MAX_PARTS} parts of this storage's partSize`,
  );

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
