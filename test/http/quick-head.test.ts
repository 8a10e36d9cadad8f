import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { toObjectInfo } from '../../src/storage/drivers/s3/metadata.ts';
import { createQuickHead } from '../../src/storage/drivers/s3/quick-head.ts';
import { headObject } from '../../src/storage/drivers/s3/read.ts';
import { bucketUrl } from '../../src/storage/drivers/s3/urls.ts';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from '../support/s3-admin.ts';

/**
 * The driver's own HEAD (quick-head.ts) against the real S3 server: S3 accepts its signature, and it
 * reads the same object description as the SDK's HeadObject for the same object, key and metadata.
 * Without this, a signature S3 refused would silently fall back to the SDK on every link.
 */

describe('quick HEAD', () => {
  const server = inject('s3');
  const client = s3Client(server);
  let bucket = '';
  const connection = resolveS3Connection({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: server.forcePathStyle,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const quick = () =>
    createQuickHead({
      bucketUrl: bucketUrl({ ...connection, bucket }),
      region: connection.region,
      credentials: async () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }),
      timeoutMs: 5000,
    });

  beforeAll(async () => {
    bucket = await createTestBucket(server, 'quickhead');
  });
  afterAll(async () => {
    await emptyAndDeleteBucket(bucket, client);
  });

  it('reads what the SDK reads, for awkward keys and stored metadata; 404 for a missing key', async () => {
    const head = quick();
    try {
      for (const key of ['a.png', "dir/späce (1)!'*~.txt", 'q?#%;:,@+=&.bin', 'unicode/März 🎉.pdf']) {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: `body of ${key}`,
            ContentType: 'text/plain; charset=utf-8',
            CacheControl: 'max-age=60',
            ContentDisposition: 'attachment; filename="x.txt"',
            Metadata: { 'original-name': 'x%20y.txt', sha256: 'ab'.repeat(32) },
          }),
        );
        const headers = await head(key);
        expect(headers, key).toBeTruthy();
        const context = { client, bucket } as unknown as S3Context;
        expect(toObjectInfo(key, headers!)).toEqual(await headObject(context, key));
        expect(headers?.Metadata?.sha256).toBe('ab'.repeat(32));
      }
      expect(await head('no/such/key')).toBeNull();
    } finally {
      head.close();
    }
  });

  it('answers "ask the SDK" (undefined) when S3 refuses its signature', async () => {
    const head = createQuickHead({
      bucketUrl: bucketUrl({ ...connection, bucket }),
      region: connection.region,
      credentials: async () => ({ accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' }),
      timeoutMs: 5000,
    });
    try {
      expect(await head('a.png')).toBeUndefined();
    } finally {
      head.close();
    }
  });
});
