import type { Config, S3ProfileConfig } from '../config/schema.ts';
import { type ResolvedS3Connection, resolveS3Connection } from '../storage/drivers/s3/connection.ts';

/**
 * What Stowage does to a bucket, as IAM sees it: which action each S3 call needs and on which ARN.
 * `iam-policy` grants exactly these; `check` names them when S3 refuses a call.
 */

/** An S3 storage of the config with its connection resolved. */
export interface S3Storage {
  name: string;
  profile: S3ProfileConfig;
  connection: ResolvedS3Connection;
}

export function s3Storages(config: Config): S3Storage[] {
  return Object.entries(config.storages).flatMap(([name, profile]) =>
    profile.driver === 's3'
      ? [{ name, profile, connection: resolveS3Connection(config.s3, profile.s3) }]
      : [],
  );
}

/** The AWS partition of a region: ARNs in China and GovCloud are not `arn:aws:`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export const bucketArn = (storage: S3Storage): string =>
  `arn:${partitionOf(storage.connection.region)}:s3:::${storage.profile.bucket}`;

/** Every object key the storage may write: its prefix and below. */
export const objectsArn = (storage: S3Storage): string => `${bucketArn(storage)}/${storage.profile.prefix}*`;

export const usesKms = (profile: S3ProfileConfig): boolean =>
  profile.serverSideEncryption === 'aws:kms' || profile.serverSideEncryption === 'aws:kms:dsse';

/** The S3 calls Stowage and `check` make, and the IAM permission behind each. */
export const operations = {
  HeadBucket: { action: 's3:ListBucket', on: 'bucket' },
  ListObjectsV2: { action: 's3:ListBucket', on: 'bucket' },
  PutObject: { action: 's3:PutObject', on: 'objects' },
  CreateMultipartUpload: { action: 's3:PutObject', on: 'objects' },
  GetObject: { action: 's3:GetObject', on: 'objects' },
  HeadObject: { action: 's3:GetObject', on: 'objects' },
  DeleteObject: { action: 's3:DeleteObject', on: 'objects' },
  AbortMultipartUpload: { action: 's3:AbortMultipartUpload', on: 'objects' },
  // Resumable uploads read their parts back; direct uploads' presigned ListParts needs it too.
  ListParts: { action: 's3:ListMultipartUploadParts', on: 'objects' },
  // Only after a lost CreateMultipartUpload answer, to find the upload to abort (create-only.ts).
  ListMultipartUploads: { action: 's3:ListBucketMultipartUploads', on: 'bucket' },
  GetBucketLifecycleConfiguration: { action: 's3:GetLifecycleConfiguration', on: 'bucket' },
  GetBucketCors: { action: 's3:GetBucketCORS', on: 'bucket' },
} as const;
export type Operation = keyof typeof operations;

/**
 * The permission(s) a refused call may be missing, spelled as IAM spells them, with the ARN. Writes
 * with an ACL also need s3:PutObjectAcl; with SSE-KMS, writes need kms:GenerateDataKey and reads
 * kms:Decrypt on the key.
 */
export function missingPermission(storage: S3Storage, operation: Operation): string {
  const { action, on } = operations[operation];
  const arn = on === 'bucket' ? bucketArn(storage) : objectsArn(storage);
  const also: string[] = [];
  const writes = operation === 'PutObject' || operation === 'CreateMultipartUpload';
  if (writes && storage.profile.acl !== undefined) also.push('s3:PutObjectAcl');
  if (usesKms(storage.profile) && writes) also.push(`kms:GenerateDataKey on ${kmsKeyLabel(storage.profile)}`);
  if (usesKms(storage.profile) && (operation === 'GetObject' || operation === 'CreateMultipartUpload'))
    also.push(`kms:Decrypt on ${kmsKeyLabel(storage.profile)}`);
  const list = [action, ...also.filter((item) => item.startsWith('s3:'))].join(' and ');
  const kms = also.filter((item) => item.startsWith('kms:'));
  return `${list} on ${arn}${kms.length > 0 ? ` (or ${kms.join(', ')})` : ''}`;
}

const kmsKeyLabel = (profile: S3ProfileConfig): string => profile.kmsKeyId ?? 'the aws/s3 key';
