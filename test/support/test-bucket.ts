import { afterAll, beforeAll, inject } from 'vitest';
import { resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import { bucketUrl } from '../../src/storage/drivers/s3/urls.ts';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from './s3-admin.ts';

/**
 * A fresh bucket on the suite's S3 server for one test file (emptied and deleted after it), with the
 * connection Stowage would resolve for that server: for tests of the driver's own requests
 * (quick-head.ts, quick-put.ts) without a whole app.
 */
export function useTestBucket(label: string) {
  const server = inject('s3');
  const client = s3Client(server);
  const connection = resolveS3Connection({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: server.forcePathStyle,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  let bucket = '';
  beforeAll(async () => {
    bucket = await createTestBucket(server, label);
  });
  afterAll(async () => {
    await emptyAndDeleteBucket(bucket, client);
  });
  return {
    server,
    client,
    connection,
    get bucket() {
      return bucket;
    },
    /** The bucket as Stowage reaches it. */
    get url() {
      return bucketUrl({ ...connection, bucket });
    },
  };
}
