import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import type { ObjectMetadata } from '../../driver.ts';
import { toS3Metadata } from './metadata.ts';

/** Server-side encryption headers from the profile (also sent on reservations: bucket policies may require them). */
export function encryptionParams(
  profile: S3ProfileConfig,
): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
  return {
    ...(profile.serverSideEncryption !== undefined && { ServerSideEncryption: profile.serverSideEncryption }),
    ...(profile.kmsKeyId !== undefined && { SSEKMSKeyId: profile.kmsKeyId }),
  };
}

/**
 * Whether S3 makes a single PutObject's ETag the MD5 of its body, so a fixed body's ETag is known in
 * advance (reservations, released leases): not under KMS encryption.
 */
export const etagIsBodyMd5 = (profile: S3ProfileConfig): boolean =>
  profile.serverSideEncryption !== 'aws:kms' && profile.serverSideEncryption !== 'aws:kms:dsse';

/** The PutObject / CreateMultipartUpload parameters of a stored object, without body and conditions. */
export function objectParams(
  bucket: string,
  profile: S3ProfileConfig,
  key: string,
  metadata: ObjectMetadata,
): PutObjectCommandInput {
  const cacheControl = metadata.cacheControl ?? profile.cacheControl;
  return {
    Bucket: bucket,
    Key: key,
    ContentType: metadata.contentType,
    ...(cacheControl !== undefined && { CacheControl: cacheControl }),
    ...(metadata.contentDisposition !== undefined && { ContentDisposition: metadata.contentDisposition }),
    ...(profile.acl !== undefined && { ACL: profile.acl }),
    ...encryptionParams(profile),
    ...(profile.storageClass !== undefined && {
      StorageClass: profile.storageClass as PutObjectCommandInput['StorageClass'],
    }),
    Metadata: toS3Metadata(metadata),
  };
}
