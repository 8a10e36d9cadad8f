import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { PromoteInput, StagedState } from '../../direct/port.ts';
import type { ObjectInfo } from '../../driver.ts';
import type { S3Context } from './context.ts';
import { type Reservation, release, reserve } from './create-only.ts';
import { isNotFound, toAppError } from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { isReservation, metaKeys, toObjectInfo } from './metadata.ts';
import { objectParams } from './params.ts';
import { PartWriter } from './part-writer.ts';
import { encodeKeyPath } from './sigv4.ts';

/**
 * What finalize needs from S3 (src/storage/direct/finalize.ts): the staged object's state, its first
 * bytes, and the create-only server-side copy to the final key. Ceph RGW ignores `If-None-Match` on
 * CopyObject (as on CompleteMultipartUpload), so the copy follows the create-only protocol of
 * create-only.ts: reserve the final key, copy onto our own reservation, release it if the copy fails.
 * Every read and copy of the staged object is conditional on the ETag it was verified with: a client
 * replaying its presigned PUT after the check cannot get other bytes promoted. Ceph RGW 16 ignores the
 * copy's source condition (both CopyObject and UploadPartCopy), so finalize.ts checks the promoted
 * object again whatever the server.
 */

export interface CopyLimits {
  /** The largest object one CopyObject copies; above it, UploadPartCopy. */
  singleCopyMax: number;
  /** Part size of a multipart copy (S3 allows 5 MiB…5 GiB per copied part, 10,000 parts). */
  partSize: number;
}

/** S3's own limit for CopyObject is 5 GiB; tests lower both to exercise the multipart copy. */
export const s3CopyLimits: CopyLimits = { singleCopyMax: 5 * 2 ** 30, partSize: 512 * 2 ** 20 };
const MAX_PARTS = 10_000;
const S3_DEFAULT_TYPE = 'binary/octet-stream';

export async function inspectStaged(context: S3Context, key: string): Promise<StagedState> {
  const { client, bucket: Bucket } = context;
  try {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: key }));
    if ((uploads.Uploads ?? []).some((upload) => upload.Key === key)) return { status: 'open' };
  } catch (error) {
    throw toAppError(error, { operation: 'ListMultipartUploads' });
  }
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
    // S3 (and Ceph) store `binary/octet-stream` when the upload named no type: nothing was declared.
    const declared = head.ContentType === S3_DEFAULT_TYPE ? undefined : head.ContentType;
    return { status: 'stored', size: head.ContentLength ?? 0, etag: head.ETag ?? '', contentType: declared };
  } catch (error) {
    if (isNotFound(error)) return { status: 'absent' };
    throw toAppError(error, { operation: 'HeadObject' });
  }
}

export async function readStagedHead(context: S3Context, key: string, etag: string, bytes: number) {
  try {
    const output = await withIfMatch(etag, (IfMatch) =>
      context.client.send(
        new GetObjectCommand({ Bucket: context.bucket, Key: key, Range: `bytes=0-${bytes - 1}`, IfMatch }),
      ),
    );
    return Buffer.from((await output.Body?.transformToByteArray()) ?? []);
  } catch (error) {
    throw toAppError(error, { operation: 'GetObject' });
  }
}

export async function promoteStaged(
  context: S3Context,
  input: PromoteInput,
  limits: CopyLimits = s3CopyLimits,
): Promise<ObjectInfo> {
  const reservation = await reserve(context, input.to, input.writeId);
  try {
    if (input.size <= limits.singleCopyMax) await copyOnce(context, input);
    else await copyInParts(context, input, reservation, limits.partSize);
  } catch (error) {
    // A multipart copy's writer has released it already; this costs that path one HEAD, on failure.
    await release(context, reservation).catch(() => undefined); // it expires otherwise
    throw toAppError(error, { operation: 'CopyObject' });
  }
  return headFinal(context, input.to);
}

/** The final object's parameters: what a form upload stores, plus our write id. */
function finalParams(context: S3Context, input: PromoteInput) {
  const params = objectParams(context.bucket, context.profile, input.to, input.metadata);
  return { ...params, Metadata: { ...params.Metadata, [metaKeys.writeId]: input.writeId } };
}

const copySource = (context: S3Context, key: string) => `${context.bucket}/${encodeKeyPath(key)}`;

async function copyOnce(context: S3Context, input: PromoteInput): Promise<void> {
  const { Body: _none, ContentLength: _length, ...params } = finalParams(context, input);
  await withIfMatch(input.etag, (CopySourceIfMatch) =>
    context.client.send(
      new CopyObjectCommand({
        ...(params as Omit<CopyObjectCommandInput, 'CopySource'>),
        CopySource: copySource(context, input.from),
        CopySourceIfMatch,
        MetadataDirective: 'REPLACE',
      }),
    ),
  );
}

async function copyInParts(
  context: S3Context,
  input: PromoteInput,
  reservation: Reservation,
  copyPartSize: number,
): Promise<void> {
  const { Body: _none, ContentLength: _length, ...params } = finalParams(context, input);
  // Reserved above: the writer completes onto our own reservation and, on failure, aborts the upload
  // (a copied part is billed storage until then) and releases the key; a failed begin leaves the
  // reservation to promoteStaged.
  const writer = await PartWriter.begin(context, params, { writeId: input.writeId, reserved: reservation });
  try {
    const partSize = Math.max(copyPartSize, Math.ceil(input.size / MAX_PARTS));
    const from = copySource(context, input.from);
    for (let first = 0, partNumber = 1; first < input.size; first += partSize, partNumber++) {
      const last = Math.min(first + partSize, input.size) - 1;
      await writer.copyPart(partNumber, {
        copySource: from,
        etag: input.etag,
        first,
        last,
      });
    }
    await writer.complete();
  } catch (error) {
    await writer.abandon(error);
    throw error;
  }
}

async function headFinal(context: S3Context, key: string): Promise<ObjectInfo> {
  try {
    const head = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
    return toObjectInfo(key, head);
  } catch (error) {
    throw toAppError(error, { operation: 'HeadObject' });
  }
}

/** The object under `stem` (the final key but its extension) that carries `writeId`, if any. */
export async function findPromoted(
  context: S3Context,
  stem: string,
  writeId: string,
): Promise<ObjectInfo | undefined> {
  const { client, bucket: Bucket } = context;
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: stem, MaxKeys: 10 }));
    for (const entry of listed.Contents ?? []) {
      if (entry.Key === undefined) continue;
      const head = await client.send(new HeadObjectCommand({ Bucket, Key: entry.Key }));
      if (head.Metadata?.[metaKeys.writeId] === writeId && !isReservation(head.Metadata))
        return toObjectInfo(entry.Key, head);
    }
    return undefined;
  } catch (error) {
    throw toAppError(error, { operation: 'ListObjectsV2' });
  }
}
