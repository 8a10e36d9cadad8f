import type { Config, S3ProfileConfig } from '../config/schema.ts';
import { DIRECT_STAGING_PREFIX, RESUMABLE_STATE_PREFIX } from '../storage/keys.ts';
import { bucketArn, objectsArn, partitionOf, type S3Storage, s3Storages, usesKms } from './permissions.ts';

/**
 * The minimal IAM policy for a config: per storage, object actions on `bucket/prefix*` only; per
 * bucket, s3:ListBucket narrowed to the storages' prefixes; KMS only where a storage encrypts with a
 * customer key; s3:PutObjectAcl only where a storage sets an ACL. Resumable uploads keep their
 * state (tails, leases) under `.stowage-resumable/<prefix>` at the bucket's root, so a storage with
 * a prefix gets that area too (the root's `bucket/*` covers it already).
 *
 * Why the list condition is `StringLikeIfExists`: HeadBucket (readiness, `check`) and S3's choice
 * between 404 and 403 for a missing key both need s3:ListBucket but carry no `s3:prefix`, so a plain
 * `StringLike` would break readiness and turn every "no such object" into a 502. The price: a request
 * that gives no prefix at all may list the whole bucket's keys (never read them). IAM has no key
 * that tells the two apart (aws/aws-cli#1480).
 */

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IamPolicy {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface IamPolicyOptions {
  /** Include s3:GetLifecycleConfiguration and s3:GetBucketCORS, which only `stowage check` uses (default true). */
  forCheck?: boolean;
}

/** "media-assets" → "MediaAssets": Sids are alphanumeric. */
export const sidPart = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');

function objectStatement(storage: S3Storage): PolicyStatement {
  // ListMultipartUploadParts: resumable uploads read their parts back, and presigned direct
  // uploads (signed with Stowage's credentials) list theirs.
  const actions = [
    's3:PutObject',
    's3:GetObject',
    's3:DeleteObject',
    's3:AbortMultipartUpload',
    's3:ListMultipartUploadParts',
  ];
  if (storage.profile.acl !== undefined) actions.push('s3:PutObjectAcl');
  const { prefix } = storage.profile;
  return {
    Sid: `Objects${sidPart(storage.name)}`,
    Effect: 'Allow',
    Action: actions,
    Resource:
      prefix === ''
        ? objectsArn(storage)
        : [objectsArn(storage), `${bucketArn(storage)}/${RESUMABLE_STATE_PREFIX}${prefix}*`],
  };
}

/**
 * Direct uploads land at the bucket root (keys.ts DIRECT_STAGING_PREFIX), outside every storage's
 * prefix: the presigned requests clients send there are signed with Stowage's credentials, and
 * finalize reads, copies and deletes what they staged.
 */
function stagingStatement(bucket: string, storages: S3Storage[]): PolicyStatement {
  const [first] = storages;
  const arn = first ? bucketArn(first) : `arn:aws:s3:::${bucket}`;
  return {
    Sid: `DirectStaging${storages.map((storage) => sidPart(storage.name)).join('')}`,
    Effect: 'Allow',
    Action: [
      's3:PutObject',
      's3:GetObject',
      's3:DeleteObject',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
    ],
    Resource: `${arn}/${DIRECT_STAGING_PREFIX}*`,
  };
}

function listStatement(bucket: string, storages: S3Storage[]): PolicyStatement {
  const [first] = storages;
  const arn = first ? bucketArn(first) : `arn:aws:s3:::${bucket}`;
  const prefixes = [...new Set(storages.map((storage) => storage.profile.prefix))];
  const statement: PolicyStatement = {
    Sid: `List${storages.map((storage) => sidPart(storage.name)).join('')}`,
    Effect: 'Allow',
    // Multipart uploads are listed only to abort one whose id was lost (create-only.ts).
    Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
    Resource: arn,
  };
  // One storage at the bucket root can list it all anyway: no condition then.
  if (prefixes.includes('')) return statement;
  // Finalize looks for multipart uploads still open on a staged key.
  const listed = [
    ...prefixes.flatMap((p) => [`${p}*`, `${RESUMABLE_STATE_PREFIX}${p}*`]),
    `${DIRECT_STAGING_PREFIX}*`,
  ];
  return { ...statement, Condition: { StringLikeIfExists: { 's3:prefix': listed } } };
}

/**
 * SSE-KMS with a customer key: data keys for writes (and multipart completion), decryption for reads.
 * The AWS-managed aws/s3 key (no kmsKeyId) needs no statement: its key policy already lets every
 * principal of the account use it through S3.
 */
function kmsStatement(storage: S3Storage): PolicyStatement | undefined {
  const { profile } = storage;
  if (!usesKms(profile) || profile.kmsKeyId === undefined) return undefined;
  const region = storage.connection.region;
  const partition = partitionOf(region);
  const base = {
    Sid: `Kms${sidPart(storage.name)}`,
    Effect: 'Allow' as const,
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
  };
  const viaS3 = { 'kms:ViaService': `s3.${region}.amazonaws.com` };
  const alias = aliasName(profile);
  if (alias !== undefined) {
    // Aliases are not resources of these actions; the key behind the alias is matched by condition.
    return {
      ...base,
      Resource: `arn:${partition}:kms:${region}:*:key/*`,
      Condition: { StringEquals: viaS3, 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias } },
    };
  }
  const keyArn = profile.kmsKeyId.startsWith('arn:')
    ? profile.kmsKeyId
    : `arn:${partition}:kms:${region}:*:key/${profile.kmsKeyId}`;
  return { ...base, Resource: keyArn, Condition: { StringEquals: viaS3 } };
}

function aliasName(profile: S3ProfileConfig): string | undefined {
  const id = profile.kmsKeyId ?? '';
  if (id.startsWith('alias/')) return id;
  const match = /^arn:[^:]+:kms:[^:]*:[^:]*:(alias\/.+)$/.exec(id);
  return match?.[1];
}

export function iamPolicy(config: Config, options: IamPolicyOptions = {}): IamPolicy {
  const storages = s3Storages(config);
  const byBucket = new Map<string, S3Storage[]>();
  for (const storage of storages) {
    byBucket.set(storage.profile.bucket, [...(byBucket.get(storage.profile.bucket) ?? []), storage]);
  }
  const statements: PolicyStatement[] = [
    ...storages.map(objectStatement),
    ...[...byBucket].map(([bucket, group]) => stagingStatement(bucket, group)),
    ...[...byBucket].map(([bucket, group]) => listStatement(bucket, group)),
    ...storages.flatMap((storage) => kmsStatement(storage) ?? []),
  ];
  if (options.forCheck !== false && byBucket.size > 0) {
    statements.push({
      Sid: 'CheckBucketRules',
      Effect: 'Allow',
      Action: ['s3:GetLifecycleConfiguration', 's3:GetBucketCORS'],
      Resource: [...new Set([...byBucket.values()].map((group) => bucketArn(group[0] as S3Storage)))],
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
