import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { toObjectInfo } from '../../src/storage/drivers/s3/metadata.ts';
import { createQuickHead } from '../../src/storage/drivers/s3/quick-head.ts';
import { headObject } from '../../src/storage/drivers/s3/read.ts';
import { useTestBucket } from '../support/test-bucket.ts';

/**
 * The driver's own HEAD (quick-head.ts) against the real S3 server: S3 accepts its signature, and it
 * reads the same object description as the SDK's HeadObject for the same object, key and metadata.
 * Without this, a signature S3 refused would silently fall back to the SDK on every link.
 */

describe('quick HEAD', () => {
  const target = useTestBucket('quickhead');
  const { server, client } = target;
  const quick = () =>
    createQuickHead({
      bucketUrl: target.url,
      region: target.connection.region,
      credentials: async () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }),
      timeoutMs: 5000,
    });

  it('reads what the SDK reads, for awkward keys and stored metadata; 404 for a missing key', async () => {
    const head = quick();
    try {
      for (const key of ['a.png', "dir/späce (1)!'*~.txt", 'q?#%;:,@+=&.bin', 'unicode/März 🎉.pdf']) {
        await client.send(
          new PutObjectCommand({
            Bucket: target.bucket,
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
        const context = { client, bucket: target.bucket } as unknown as S3Context;
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
      bucketUrl: target.url,
      region: target.connection.region,
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
