import type { Readable } from 'node:stream';
import {
  type CompletedPart,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { AppError } from '../../../errors.ts';
import type { ObjectInfo } from '../../driver.ts';
import { SNIFF_BYTES } from '../../intake.ts';
import { RESUMABLE_STATE_PREFIX } from '../../keys.ts';
import type { AppendInput, AppendResult, ResumableStore, ResumableUpload } from '../../resumable/store.ts';
import { openBody } from './body.ts';
import { streamsKnownLengths } from './connection.ts';
import type { S3Context } from './context.ts';
import { abortUploadsOf, type Reservation, release, reserve } from './create-only.ts';
import { isNotFound, toAppError } from './errors.ts';
import { takeLease } from './lease.ts';
import { isReservation, metaKeys, toObjectInfo } from './metadata.ts';
import { encryptionParams, objectParams } from './params.ts';
import { PartWriter } from './part-writer.ts';
import { partStream } from './streamed-part.ts';

/**
 * The S3 side of resumable uploads; the protocol is explained at the top of
 * src/storage/resumable/upload-id.ts. Each function is one request's work and keeps nothing
 * between requests: what an upload has reached is read back from S3 every time (`resumableState`).
 * Keys here are backend keys. Tails live under STATE_PREFIX at the bucket's root, outside every
 * storage prefix but the empty one.
 */
export const STATE_PREFIX = RESUMABLE_STATE_PREFIX;
const statePrefix = (key: string) => `${STATE_PREFIX}${key}/`;
/** The upload key a state object (tail, lease) belongs to, or undefined for any other key. */
export function stateOwner(stateKey: string): string | undefined {
  const slash = stateKey.lastIndexOf('/');
  return stateKey.startsWith(STATE_PREFIX) && slash > STATE_PREFIX.length
    ? stateKey.slice(STATE_PREFIX.length, slash)
    : undefined;
}
const tailPrefix = (key: string) => `${statePrefix(key)}tail-`;
const tailKey = (key: string, part: number) => `${tailPrefix(key)}${String(part).padStart(5, '0')}`;

export type ResumableState =
  | { status: 'gone' }
  | { status: 'finished'; info: ObjectInfo }
  | {
      status: 'open';
      reservation: Reservation;
      uploadId: string | undefined;
      /** Parts 1…k, contiguous, as S3 lists them. */
      parts: CompletedPart[];
      partsBytes: number;
      tail: { key: string; size: number } | undefined;
      /** Tails of parts S3 already has: left by a request that died between the part and the tail. */
      staleTails: string[];
      offset: number;
    };

/**
 * Reserves the final key for the upload's whole life (create-only.ts): its "alive" mark. It outlives
 * the upload's expiry by a write's reservation TTL (server.requestTimeout and a margin): a PATCH
 * accepted just before the expiry may run that long, and the reservation must not expire under it
 * (be taken over, or removed by `stowage gc`, which goes by the reservation's expiry).
 */
export async function beginResumable(context: S3Context, upload: ResumableUpload): Promise<void> {
  const ttl = Math.ceil((upload.expiresAt - Date.now()) / 1000) + context.reservationTtlSeconds;
  await reserve({ ...context, reservationTtlSeconds: ttl }, upload.key, upload.writeId);
}

/**
 * Where the upload stands, from S3 alone. Two round trips: the reservation's HEAD, the key's
 * multipart uploads and the tails are independent and asked at once; only ListParts waits (for the
 * upload id). The HEAD decides first: an upload gone or finished ignores the other answers, errors
 * included. Each PATCH pays these round trips in series with its parts (bench/README "Resumable
 * uploads (tus)").
 */
export async function resumableState(context: S3Context, upload: ResumableUpload): Promise<ResumableState> {
  const { bucket, client } = context;
  const heading = client.send(new HeadObjectCommand({ Bucket: bucket, Key: upload.key }));
  const oldest = oldestUpload(context, upload.key);
  const tailsListed = listTails(context, upload.key);
  // Either may reject while the HEAD is still out, before anything awaits it: an unhandled rejection
  // then, though awaited (and thrown) below when its answer is needed.
  for (const read of [oldest, tailsListed]) read.catch(() => undefined);
  let head: HeadObjectCommandOutput;
  try {
    head = await heading;
  } catch (error) {
    if (isNotFound(error)) return { status: 'gone' };
    throw toAppError(error, { operation: 'HeadObject' });
  }
  if (head.Metadata?.[metaKeys.writeId] !== upload.writeId) return { status: 'gone' };
  if (!isReservation(head.Metadata)) return { status: 'finished', info: toObjectInfo(upload.key, head) };
  const reservation: Reservation = { key: upload.key, etag: head.ETag ?? '', writeId: upload.writeId };

  const uploadId = await oldest;
  const [parts, tails] = await Promise.all([
    uploadId === undefined ? [] : listParts(context, upload.key, uploadId),
    tailsListed,
  ]);
  let partsBytes = 0;
  const contiguous: CompletedPart[] = [];
  for (const part of parts) {
    if (part.PartNumber !== contiguous.length + 1) break;
    contiguous.push(part.completed);
    partsBytes += part.size;
  }
  const current = tailKey(upload.key, contiguous.length + 1);
  const tail = tails.find((one) => one.key === current);
  return {
    status: 'open',
    reservation,
    uploadId,
    parts: contiguous,
    partsBytes,
    tail,
    staleTails: tails.filter((one) => one !== tail).map((one) => one.key),
    offset: partsBytes + (tail?.size ?? 0),
  };
}

type OpenS3Upload = Extract<ResumableState, { status: 'open' }>;

/** The S3 driver's resumable port (src/storage/resumable/store.ts). */
export function s3ResumableStore(context: S3Context): ResumableStore {
  return {
    partSize: (length) => Math.max(context.profile.partSize, Math.ceil(length / S3_MAX_PARTS)),
    begin: (upload) => beginResumable(context, upload),
    lease: (upload) => takeLease(context, `${statePrefix(upload.key)}lease`),
    progress: (upload) => resumableState(context, upload),
    // The state given back is the one progress() answered (its status says so).
    append: (input) => appendResumable(context, input as AppendInput<OpenS3Upload>),
    terminate: (_upload, state) => terminateResumable(context, state as OpenS3Upload),
  };
}

const S3_MAX_PARTS = 10_000;

/**
 * Appends one PATCH body at the state's offset: the tail (if any) and the body fill the part buffer,
 * each full buffer becomes the next part, what is left becomes the next tail; the part that reaches
 * Upload-Length completes the upload. A body past Upload-Length is refused before it is stored.
 * Whole parts of a body of known length skip the buffer: each streams to S3 as it arrives.
 */
export async function appendResumable(
  context: S3Context,
  input: AppendInput<OpenS3Upload>,
): Promise<AppendResult> {
  const { upload, state, buffer, signal } = input;
  const { bucket, client } = context;
  if (buffer.length < Math.min(upload.partSize, upload.length))
    throw new Error('the part buffer is smaller than the upload part size');
  const reader = openBody(input.body, signal);
  try {
    let partNumber = state.parts.length + 1;
    let partStart = state.partsBytes;
    let filled = 0;
    if (state.tail !== undefined) filled = await readTail(context, state.tail.key, buffer);
    let writer =
      state.uploadId === undefined
        ? undefined
        : PartWriter.resume(context, upload.key, {
            writeId: upload.writeId,
            reservation: state.reservation,
            uploadId: state.uploadId,
            parts: state.parts,
          });
    const begin = async (head: Buffer) =>
      PartWriter.begin(
        context,
        withWriteId(
          objectParams(bucket, context.profile, upload.key, await input.describe(head)),
          upload.writeId,
        ),
        { writeId: upload.writeId, reserved: state.reservation, signal },
      );
    // A body of known length streams each whole part it holds to S3 as it arrives (signed payloads in
    // signed chunks; README "Bodies of known length stream through"); a tail is merged through the
    // buffer first.
    const streamable = streamsKnownLengths(context.connection) ? input.bodyLength : undefined;
    let received = 0;
    for (;;) {
      const partLength = Math.min(upload.partSize, upload.length - partStart);
      if (streamable !== undefined && filled === 0 && streamable - received >= partLength) {
        // The first part's type is decided before any of it is stored: its head is read first.
        let head: Buffer = Buffer.alloc(0);
        if (writer === undefined) {
          head = buffer.subarray(0, await reader.fill(buffer.subarray(0, Math.min(SNIFF_BYTES, partLength))));
          writer = await begin(head);
        }
        const stream = partStream(reader, head, partLength);
        try {
          await writer.uploadPartStreamed(partNumber, stream, partLength, signal);
        } catch (error) {
          stream.destroy();
          throw reader.error ?? error;
        }
        received += partLength;
      } else {
        const got = await reader.fill(buffer.subarray(filled, partLength));
        filled += got;
        received += got;
        if (filled < partLength) break;
        const data = buffer.subarray(0, filled);
        if (partStart + filled === upload.length && !(await reader.ended())) throw pastLength(upload.length);
        writer ??= await begin(data);
        await writer.uploadPart(partNumber, data, signal);
        filled = 0;
      }
      partStart += partLength;
      partNumber += 1;
      if (partStart === upload.length) {
        const etag = await writer.complete(signal);
        await removeTails(context, upload.key).catch(() => undefined); // the lifecycle rule takes leftovers
        return { offset: upload.length, finished: { etag } };
      }
    }
    if (received > 0 && filled > 0) {
      await client
        .send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: tailKey(upload.key, partNumber),
            Body: buffer.subarray(0, filled),
            ContentLength: filled,
            ContentType: 'application/octet-stream',
            ...encryptionParams(context.profile),
          }),
          signal && { abortSignal: signal },
        )
        .catch((error: unknown) => {
          throw toAppError(error, { operation: 'PutObject' });
        });
    }
    const stale = [
      ...state.staleTails,
      ...(state.tail && partNumber > state.parts.length + 1 ? [state.tail.key] : []),
    ];
    await Promise.all(stale.map((key) => deleteQuietly(context, key)));
    return { offset: partStart + filled };
  } finally {
    reader.release();
  }
}

/** Termination: the multipart upload, the tails and the reservation go; later requests find it gone. */
export async function terminateResumable(context: S3Context, state: OpenS3Upload): Promise<void> {
  const key = state.reservation.key;
  try {
    await abortUploadsOf(context, key);
    await removeTails(context, key);
    await release(context, state.reservation);
  } catch (error) {
    throw toAppError(error, { operation: 'AbortMultipartUpload' });
  }
}

const pastLength = (length: number) =>
  new AppError('UPLOAD_PAST_LENGTH', 'The body goes past Upload-Length', {
    details: { uploadLength: length },
  });

function withWriteId<T extends { Metadata?: Record<string, string> | undefined }>(
  params: T,
  writeId: string,
): T {
  return { ...params, Metadata: { ...params.Metadata, [metaKeys.writeId]: writeId } };
}

async function oldestUpload(context: S3Context, key: string): Promise<string | undefined> {
  const listed = await context.client
    .send(new ListMultipartUploadsCommand({ Bucket: context.bucket, Prefix: key }))
    .catch((error: unknown) => {
      throw toAppError(error, { operation: 'ListMultipartUploads' });
    });
  const ours = (listed.Uploads ?? [])
    .filter((one) => one.Key === key && one.UploadId !== undefined)
    .sort((a, b) => (a.Initiated?.getTime() ?? 0) - (b.Initiated?.getTime() ?? 0));
  return ours[0]?.UploadId;
}

async function listParts(
  context: S3Context,
  key: string,
  uploadId: string,
): Promise<Array<{ PartNumber: number; size: number; completed: CompletedPart }>> {
  const parts: Array<{ PartNumber: number; size: number; completed: CompletedPart }> = [];
  let marker: string | undefined;
  do {
    const page = await context.client
      .send(
        new ListPartsCommand({
          Bucket: context.bucket,
          Key: key,
          UploadId: uploadId,
          ...(marker !== undefined && { PartNumberMarker: marker }),
        }),
      )
      .catch((error: unknown) => {
        throw toAppError(error, { operation: 'ListParts' });
      });
    for (const part of page.Parts ?? []) {
      if (part.PartNumber === undefined) continue;
      parts.push({
        PartNumber: part.PartNumber,
        size: part.Size ?? 0,
        completed: {
          PartNumber: part.PartNumber,
          ETag: part.ETag,
          ...(part.ChecksumCRC32 !== undefined && { ChecksumCRC32: part.ChecksumCRC32 }),
          ...(part.ChecksumCRC32C !== undefined && { ChecksumCRC32C: part.ChecksumCRC32C }),
          ...(part.ChecksumSHA1 !== undefined && { ChecksumSHA1: part.ChecksumSHA1 }),
          ...(part.ChecksumSHA256 !== undefined && { ChecksumSHA256: part.ChecksumSHA256 }),
        },
      });
    }
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker !== undefined);
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}

async function listTails(context: S3Context, key: string): Promise<Array<{ key: string; size: number }>> {
  const listed = await context.client
    .send(new ListObjectsV2Command({ Bucket: context.bucket, Prefix: tailPrefix(key) }))
    .catch((error: unknown) => {
      throw toAppError(error, { operation: 'ListObjectsV2' });
    });
  return (listed.Contents ?? []).flatMap((one) =>
    one.Key === undefined ? [] : [{ key: one.Key, size: one.Size ?? 0 }],
  );
}

async function readTail(context: S3Context, key: string, buffer: Buffer): Promise<number> {
  const output = await context.client
    .send(new GetObjectCommand({ Bucket: context.bucket, Key: key }))
    .catch((error: unknown) => {
      throw toAppError(error, { operation: 'GetObject' });
    });
  let filled = 0;
  for await (const chunk of output.Body as Readable) {
    const bytes = chunk as Buffer;
    if (filled + bytes.length > buffer.length) throw new Error(`${key}: a tail longer than a part`);
    bytes.copy(buffer, filled);
    filled += bytes.length;
  }
  return filled;
}

/** Tails and the lease: everything under the upload's state prefix. */
async function removeTails(context: S3Context, key: string): Promise<void> {
  const listed = await context.client
    .send(new ListObjectsV2Command({ Bucket: context.bucket, Prefix: statePrefix(key) }))
    .catch((error: unknown) => {
      throw toAppError(error, { operation: 'ListObjectsV2' });
    });
  await Promise.all(
    (listed.Contents ?? []).flatMap((one) =>
      one.Key === undefined ? [] : [deleteQuietly(context, one.Key)],
    ),
  );
}

/** Best effort: a tail left behind is ignored by every later request and expires by lifecycle rule. */
const deleteQuietly = (context: S3Context, key: string): Promise<void> =>
  context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key })).then(
    () => undefined,
    () => undefined,
  );
