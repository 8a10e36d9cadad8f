import type { Config } from '../config/schema.ts';
import { sidPart } from './iam-policy.ts';
import { objectsArn, type S3Storage, s3Storages } from './permissions.ts';

/**
 * What the buckets themselves need besides Stowage's IAM policy (iam-policy.ts):
 * - a bucket policy letting anyone read a public storage's objects, since Stowage hands out
 *   plain bucket (or CDN) URLs for them and S3 answers 403 to anonymous reads by default;
 * - CORS rules, since browsers read (and, with direct uploads, write) presigned URLs from S3 itself,
 *   not through Stowage, and a script sees S3's answer only if S3 allows its origin. `ETag` is
 *   exposed because multipart uploads from a browser (Uppy's, for one) read it from each part.
 */

export interface BucketPolicy {
  Version: '2012-10-17';
  Statement: Array<{
    Sid: string;
    Effect: 'Allow';
    Principal: '*';
    Action: ['s3:GetObject'];
    Resource: string[];
  }>;
}

export interface BucketCors {
  CORSRules: Array<{
    ID: string;
    AllowedOrigins: string[];
    AllowedMethods: string[];
    AllowedHeaders: string[];
    ExposeHeaders: string[];
    MaxAgeSeconds: number;
  }>;
}

/** The public S3 storages of a config, by bucket (a bucket policy is one document per bucket). */
export function publicStoragesByBucket(
  config: Config,
  only: readonly string[] = [],
): Map<string, S3Storage[]> {
  const byBucket = new Map<string, S3Storage[]>();
  for (const storage of s3Storages(config)) {
    if (storage.profile.access !== 'public') continue;
    if (only.length > 0 && !only.includes(storage.name)) continue;
    byBucket.set(storage.profile.bucket, [...(byBucket.get(storage.profile.bucket) ?? []), storage]);
  }
  return byBucket;
}

/** Anonymous s3:GetObject on each public storage's prefix of one bucket, and nothing else (no listing). */
export function bucketPolicy(storages: readonly S3Storage[]): BucketPolicy {
  return {
    Version: '2012-10-17',
    Statement: storages.map((storage) => ({
      Sid: `PublicRead${sidPart(storage.name)}`,
      Effect: 'Allow',
      Principal: '*',
      Action: ['s3:GetObject'],
      Resource: [objectsArn(storage)],
    })),
  };
}

/**
 * One rule for every bucket: the configured browser origins may GET/HEAD (presigned and public
 * reads, ranged too, and ListParts), PUT (direct uploads: PutObject, UploadPart), POST
 * (CreateMultipartUpload, CompleteMultipartUpload) and DELETE (AbortMultipartUpload) — the requests
 * Uppy's S3 plugin sends to the URLs `direct/sign` answers — with any request header (presigned
 * requests carry the signed `x-amz-*` and `content-type` ones), and read the headers a download or an
 * upload needs.
 */
export function bucketCors(origins: readonly string[], maxAgeSeconds: number): BucketCors {
  return {
    CORSRules: [
      {
        ID: 'stowage-browsers',
        AllowedOrigins: [...origins],
        AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Content-Disposition', 'Content-Type'],
        MaxAgeSeconds: maxAgeSeconds,
      },
    ],
  };
}
