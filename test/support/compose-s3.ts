import { createTestBucket, type S3TestServer } from './s3-admin.ts';

/**
 * What the tests put in place of MinIO in the compose file's environment for the stowage service:
 * the test S3 server (endpoint, public endpoint, credentials) and three fresh buckets for the
 * example config's storages. The caller deletes `buckets` when done.
 */
export async function composeOnTestS3(
  server: S3TestServer,
  label: string,
): Promise<{ buckets: string[]; env: Record<string, string> }> {
  const buckets: string[] = [];
  for (const storage of ['media', 'private', 'exports'])
    buckets.push(await createTestBucket(server, `${label}-${storage}`));
  return {
    buckets,
    env: {
      AWS_ENDPOINT_URL_S3: server.endpoint,
      S3_PUBLIC_ENDPOINT: server.endpoint,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      MEDIA_BUCKET: buckets[0]!,
      PRIVATE_BUCKET: buckets[1]!,
      EXPORTS_BUCKET: buckets[2]!,
    },
  };
}
