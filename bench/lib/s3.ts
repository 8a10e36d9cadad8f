import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { resolveS3Connection, s3ClientConfig } from '../../src/storage/drivers/s3/connection.ts';
import { type ResolvedS3Server, resolveS3Server } from '../../test/support/s3-server.ts';
import { generatedBody, MiB } from './body.ts';

/**
 * The S3 side of the benchmark: the test harness's server, and a direct client configured exactly
 * like Stowage's own (same connection defaults, keep-alive agent and checksum mode), so the two paths
 * differ only by Stowage.
 */

export interface S3Side {
  server: ResolvedS3Server;
  /** The connection block Stowage's config gets. */
  connection: {
    endpoint: string;
    region: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** A direct client, configured as Stowage configures its own (undici request handler). */
  client: S3Client;
  /** The same, with the SDK's default request handler (node:http): what an application gets unless it opts in. */
  defaultHandlerClient: S3Client;
  close(): Promise<void>;
}

export async function openS3(): Promise<S3Side> {
  // A Docker engine may appear on a shared machine; the figures are about the Ceph RGW described in
  // bench/README.md unless another server is asked for explicitly.
  process.env.STOWAGE_TEST_S3_SERVER ??= 'ceph';
  const server = await resolveS3Server();
  const connection = {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
  const resolved = resolveS3Connection(connection);
  const config = s3ClientConfig(resolved, resolved.endpoint);
  const client = new S3Client(config);
  const { requestHandler: _undici, ...withDefaultHandler } = config;
  const defaultHandlerClient = new S3Client(withDefaultHandler);
  return {
    server,
    connection,
    client,
    defaultHandlerClient,
    async close() {
      client.destroy();
      defaultHandlerClient.destroy();
      await server.stop();
    },
  };
}

export async function createBucket(client: S3Client, label: string): Promise<string> {
  const bucket = `bench-${label}-${Date.now().toString(36)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export const deleteObject = (client: S3Client, bucket: string, key: string): Promise<unknown> =>
  client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

/** Deletes every object and multipart upload in the bucket, then the bucket. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  await emptyBucket(client, bucket);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * Deletes every object and aborts every multipart upload in the bucket: what a path left besides
 * the object it stored (a tus server's state objects, an upload that failed half-way).
 */
export async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((entry) => (entry.Key ? [{ Key: entry.Key }] : []));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
    );
  }
}

/**
 * Ceph RGW frees deleted objects' data only when its garbage collector runs (every minute on the
 * test cluster); with memstore that data counts against the RAM cap. Run it now, best effort.
 */
export function collectGarbage(server: ResolvedS3Server): Promise<void> {
  const conf = `${process.env.CEPH_DIR || '/tmp/stowage-ceph'}/ceph.conf`;
  if (server.kind !== 'ceph' || !existsSync(conf)) return Promise.resolve();
  return new Promise((resolve) => {
    execFile('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { timeout: 120_000 }, () =>
      resolve(),
    );
  });
}

/** Refuses unless `key` holds `size` bytes: the check after each measured transfer. */
export async function expectSize(client: S3Client, bucket: string, key: string, size: number): Promise<void> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== size) throw new Error(`${key}: ${head.ContentLength} bytes stored, not ${size}`);
}

/** Direct uploads use the profile's default part size and queue (8 MiB × 4), as Stowage does. */
export const DIRECT_PART_SIZE = 8 * MiB;
export const DIRECT_QUEUE_SIZE = 4;

/** `size` generated bytes straight to S3 with lib-storage's `Upload`: the direct upload path. */
export async function uploadDirect(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
): Promise<void> {
  await new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: generatedBody(size) },
    partSize: DIRECT_PART_SIZE,
    queueSize: DIRECT_QUEUE_SIZE,
  }).done();
}
