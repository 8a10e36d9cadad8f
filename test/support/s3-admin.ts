// Direct access to the test S3 server, around Stowage rather than through it: make and remove
// buckets, and look at what really landed there (keys, bodies, unfinished multipart uploads).
// The helpers that take no connection use the server from `inject('s3')` (see global-setup.ts) with
// a client of their own; pass a client as the last argument to use another.

import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import type { S3TestServer } from './s3-server.ts';

export type { S3TestServer } from './s3-server.ts';

/** An in-progress multipart upload. */
export interface PendingUpload {
  key: string;
  uploadId: string;
}

/**
 * A new S3 client for the test server, owned by the caller (destroy it when done): path-style, and
 * checksums only where the API requires them (Ceph and other non-AWS servers reject the SDK's
 * default aws-chunked checksum trailers).
 */
export function s3Client(info: S3TestServer = inject('s3')): S3Client {
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: info.forcePathStyle,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

// The helpers' own clients, one per server, never handed out (so no caller can destroy them).
const shared = new Map<string, S3Client>();
function sharedClient(info: S3TestServer = inject('s3')): S3Client {
  const id = JSON.stringify([info.endpoint, info.region, info.accessKeyId, info.secretAccessKey]);
  let client = shared.get(id);
  if (!client) {
    client = s3Client(info);
    shared.set(id, client);
  }
  return client;
}

/** Creates an empty bucket with a unique name, `t-<prefix>-<random>`, and returns the name. */
export async function createTestBucket(info: S3TestServer, prefix: string): Promise<string> {
  const random = randomBytes(6).toString('hex');
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - 't--'.length - random.length)
    .replace(/-+$/, '');
  const bucket = clean ? `t-${clean}-${random}` : `t-${random}`;
  await sharedClient(info).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Aborts unfinished uploads, deletes every object (and version), then the bucket. Missing bucket: no-op. */
export async function emptyAndDeleteBucket(bucket: string, client: S3Client = sharedClient()): Promise<void> {
  try {
    for (const upload of await listMultipartUploads(bucket, client)) {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }),
      );
    }
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    do {
      const page = await client.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }),
      );
      const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map(
        (v) =>
          v.VersionId && v.VersionId !== 'null' ? { Key: v.Key, VersionId: v.VersionId } : { Key: v.Key },
      );
      if (objects.length > 0) {
        const result = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
        );
        const failed = result.Errors?.[0];
        if (failed)
          throw new Error(`cannot delete s3://${bucket}/${failed.Key}: ${failed.Code} ${failed.Message}`);
      }
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (KeyMarker !== undefined);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchBucket') throw error;
  }
}

/** Every key in the bucket (under `prefix`), in S3's order. */
export async function listAllKeys(
  bucket: string,
  prefix?: string,
  client: S3Client = sharedClient(),
): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken !== undefined);
  return keys;
}

/** The multipart uploads still in progress in the bucket (neither completed nor aborted). */
export async function listMultipartUploads(
  bucket: string,
  client: S3Client = sharedClient(),
): Promise<PendingUpload[]> {
  const uploads: PendingUpload[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  do {
    const page = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker, UploadIdMarker }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key !== undefined && upload.UploadId !== undefined) {
        uploads.push({ key: upload.Key, uploadId: upload.UploadId });
      }
    }
    KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (KeyMarker !== undefined);
  return uploads;
}

/** The stored bytes of an object. */
export async function objectBody(
  bucket: string,
  key: string,
  client: S3Client = sharedClient(),
): Promise<Buffer> {
  const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!result.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await result.Body.transformToByteArray());
}
