import { AbortMultipartUploadCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DIRECT_STAGING_PREFIX } from '../../keys.ts';
import type { GcAct } from './gc.ts';
import { listed, multipartUploads } from './gc-listing.ts';

/**
 * Step 4 of `stowage gc` (gc.ts): what the lifecycle rule on DIRECT_STAGING_PREFIX does, for servers
 * without it. A direct upload is staged at the bucket root until finalize promotes it; one older than
 * the cutoff (direct.expiry and the longest a finalize can run, so no finalize still reads it) can no
 * longer be signed for nor finalized. Its multipart uploads are aborted first (their parts are what
 * costs), then its staged objects deleted. By age: a key's own expiry is MAC-protected data gc does
 * not verify, and the object's age bounds it anyway (an object is written after its key is issued).
 */
export async function collectStaged(
  target: { client: S3Client; bucket: string; olderThan: number },
  act: GcAct,
): Promise<void> {
  const { client, bucket, olderThan } = target;
  const since = (epochMs: number) => new Date(epochMs).toISOString();
  for await (const upload of multipartUploads(client, bucket, DIRECT_STAGING_PREFIX)) {
    if (upload.initiated > olderThan) continue;
    const why = `a direct upload past direct.expiry, started ${since(upload.initiated)}`;
    await act({ action: 'abort', what: `${upload.key} (${upload.uploadId})`, why }, () =>
      client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }),
      ),
    );
  }
  for await (const entry of listed(client, bucket, DIRECT_STAGING_PREFIX)) {
    if (entry.lastModified > olderThan) continue;
    const why = `a direct upload past direct.expiry, never finalized, staged ${since(entry.lastModified)}`;
    await act({ action: 'delete', what: entry.key, why }, () =>
      client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.key })),
    );
  }
}
