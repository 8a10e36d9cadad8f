import type { Config } from '../config/schema.ts';
import { DIRECT_STAGING_PREFIX, RESUMABLE_STATE_PREFIX } from '../storage/keys.ts';
import { sidPart } from './iam-policy.ts';
import { objectsArn, type S3Storage, s3Storages } from './permissions.ts';

/**
 * What the buckets themselves need besides Stowage's IAM policy (iam-policy.ts):
 * - a bucket policy letting anyone read a public storage's objects, since Stowage hands out
 *   plain bucket (or CDN) URLs for them and S3 answers 403 to anonymous reads by default;
 * - CORS rules, since browsers read (and, with direct uploads, write) presigned URLs from S3 itself,
 *   not through Stowage, and a script sees S3's answer only if S3 allows its origin. `ETag` is
 *   exposed because multipart uploads from a browser (Uppy's, for one) read it from each part;
 * - lifecycle rules, since only S3 can clean up after an instance that died, or a resumable upload
 *   its client abandoned.
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

export interface BucketLifecycle {
  Rules: Array<{
    ID: string;
    Status: 'Enabled';
    Filter: { Prefix: string };
    AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
    Expiration?: { Days: number };
  }>;
}

/**
 * The days a lifecycle rule must wait so it never takes part of a resumable upload that may still
 * run: `resumable.expiry`, rounded up to whole days (S3 counts from the object's creation, or the
 * multipart upload's initiation, and acts at the next midnight UTC after that, never earlier). A tail
 * or lease is never older than its upload, a multipart upload never older than its upload either.
 */
export const lifecycleDays = (resumableExpirySeconds: number): number =>
  Math.max(1, Math.ceil(resumableExpirySeconds / 86_400));

/** How long each kind of upload may take, from the config: what the lifecycle rules must outwait. */
export interface UploadExpiries {
  /** `resumable.expiry`, seconds. */
  resumable: number;
  /** `direct.expiry`, seconds. */
  direct: number;
}

export const DEFAULT_EXPIRIES: UploadExpiries = { resumable: 86_400, direct: 86_400 };

/**
 * The three rules every bucket of an S3 storage needs, the same for every bucket:
 * - abort incomplete multipart uploads (an instance that died mid-upload, a resumable upload left
 *   unfinished), for the whole bucket;
 * - expire what resumable uploads keep under the hidden prefix at the bucket's root (tails, leases),
 *   left behind by uploads abandoned before they finished;
 * - expire direct uploads staged at the bucket's root and never finalized (a finalize promotes and
 *   deletes them within `direct.expiry` of the key's issue, so the rule never takes one in use).
 * Not covered by a rule: the small reservation an abandoned resumable upload leaves at its final key
 * (hidden from reads and listings; a lifecycle filter cannot tell it from the storage's objects):
 * `stowage gc` removes those, and everything else above on servers without lifecycle rules.
 */
export function bucketLifecycle(expiries: UploadExpiries = DEFAULT_EXPIRIES): BucketLifecycle {
  const days = lifecycleDays(expiries.resumable);
  return {
    Rules: [
      {
        ID: 'stowage-abort-incomplete-multipart-uploads',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: days },
      },
      {
        ID: 'stowage-expire-resumable-state',
        Status: 'Enabled',
        Filter: { Prefix: RESUMABLE_STATE_PREFIX },
        Expiration: { Days: days },
      },
      {
        ID: 'stowage-expire-direct-staging',
        Status: 'Enabled',
        Filter: { Prefix: DIRECT_STAGING_PREFIX },
        Expiration: { Days: lifecycleDays(expiries.direct) },
      },
    ],
  };
}
