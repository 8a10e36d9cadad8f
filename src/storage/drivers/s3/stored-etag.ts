import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Context } from './context.ts';
import { retractLateWrite } from './create-only.ts';
import { toAppError } from './errors.ts';
import { quoteEtag } from './metadata.ts';

/**
 * The ETag of what a write stored. Ceph RGW returns an empty ETag from CompleteMultipartUpload;
 * HeadObject has the real one. If that fails the upload is answered as failed, so a create-only object
 * is retracted like a late write: an error answer never leaves an object behind that the client does
 * not know about.
 */
export async function storedEtag(
  context: S3Context,
  key: string,
  etag: string | undefined,
  writeId: string | undefined,
): Promise<string> {
  if (etag) return quoteEtag(etag);
  try {
    const output = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
    return quoteEtag(output.ETag ?? '');
  } catch (error) {
    if (writeId !== undefined) void retractLateWrite(context, key, writeId);
    throw toAppError(error, { operation: 'HeadObject' });
  }
}
