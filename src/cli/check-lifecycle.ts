import {
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DIRECT_STAGING_PREFIX, RESUMABLE_STATE_PREFIX } from '../storage/keys.ts';
import { lifecycleDays, type UploadExpiries } from './bucket-settings.ts';
import { classify } from './check-classify.ts';
import type { StorageReport } from './check-report.ts';
import { bucketArn, missingPermission, type S3Storage } from './permissions.ts';

/**
 * `check`'s lifecycle step for one S3 storage: the bucket has the three rules `stowage bucket-lifecycle`
 * prints (bucket-settings.ts) — one that aborts incomplete multipart uploads under the storage's
 * prefix, one that expires resumable-upload state under the hidden prefix for it, one that expires
 * direct uploads staged and never finalized — and none acts sooner than the upload kind's expiry
 * (`resumable.expiry`, `direct.expiry`), which would take parts of uploads still running.
 * Missing or too eager rules are warnings: Stowage works, but leaves what crashed or abandoned
 * uploads left behind until `stowage gc` removes it.
 */
type LifecycleStep = StorageReport['steps']['lifecycle'];

/** The rule's prefix when it applies to every key under `prefix` (tag filters never match uploads). */
function covers(rule: LifecycleRule, prefix: string): boolean {
  if (rule.Status !== 'Enabled') return false;
  const filter = rule.Filter;
  if (
    filter?.Tag ||
    filter?.And?.Tags?.length ||
    filter?.ObjectSizeGreaterThan ||
    filter?.And?.ObjectSizeGreaterThan
  )
    return false;
  const rulePrefix = filter?.Prefix ?? filter?.And?.Prefix ?? rule.Prefix ?? '';
  return prefix.startsWith(rulePrefix);
}

/** The soonest of the covering rules' days (the one that acts first), or undefined without any. */
function soonest(rules: LifecycleRule[], prefix: string, days: (rule: LifecycleRule) => number | undefined) {
  const found = rules.filter((rule) => covers(rule, prefix)).flatMap((rule) => days(rule) ?? []);
  return found.length === 0 ? undefined : Math.min(...found);
}

export async function checkLifecycle(
  storage: S3Storage,
  client: S3Client,
  expiries: UploadExpiries,
  options: { abortSignal: AbortSignal },
): Promise<LifecycleStep> {
  const { bucket, prefix } = storage.profile;
  const arn = bucketArn(storage);
  const statePrefix = `${RESUMABLE_STATE_PREFIX}${prefix}`;
  const needed = lifecycleDays(expiries.resumable);
  const neededStaging = lifecycleDays(expiries.direct);
  const remedy = `; \`stowage bucket-lifecycle\` prints the rules (README "Deploy"), \`stowage gc\` cleans up without them`;
  const noAbort =
    `no lifecycle rule on ${arn} aborts incomplete multipart uploads${prefix ? ` under "${prefix}"` : ''}: ` +
    'parts of uploads cut off by a crash stay (and are billed) forever';
  const noExpiry =
    `no lifecycle rule on ${arn} expires "${statePrefix}": tails and leases of abandoned resumable ` +
    'uploads stay forever';
  const noStaging =
    `no lifecycle rule on ${arn} expires "${DIRECT_STAGING_PREFIX}": direct uploads never finalized ` +
    'stay (and are billed) forever';
  let rules: LifecycleRule[];
  try {
    rules =
      (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }), options)).Rules ??
      [];
  } catch (error) {
    const { kind, code } = classify(error);
    if (code === 'NoSuchLifecycleConfiguration')
      return { status: 'warn', problem: `${noAbort}; ${noExpiry}; ${noStaging}${remedy}`, note: 'missing' };
    if (kind === 'denied')
      return {
        status: 'warn',
        problem: `cannot read the lifecycle rules: missing ${missingPermission(storage, 'GetBucketLifecycleConfiguration')} (${code})`,
        note: 'unknown',
      };
    return {
      status: 'warn',
      problem: `cannot read the lifecycle rules of ${arn} (${code})`,
      note: 'unknown',
    };
  }
  const abortDays = soonest(
    rules,
    prefix,
    (rule) => rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
  );
  const stateDays = soonest(rules, statePrefix, (rule) => rule.Expiration?.Days);
  const stagingDays = soonest(rules, DIRECT_STAGING_PREFIX, (rule) => rule.Expiration?.Days);
  const problems: string[] = [];
  if (abortDays === undefined) problems.push(noAbort);
  if (stateDays === undefined) problems.push(noExpiry);
  if (stagingDays === undefined) problems.push(noStaging);
  const tooSoon = (what: string, days: number | undefined, wanted: number, setting: string) => {
    if (days !== undefined && days < wanted)
      problems.push(
        `the lifecycle rule on ${arn} ${what} after ${days}d, sooner than ${setting} (${wanted}d): ` +
          'it takes parts of uploads still running',
      );
  };
  tooSoon('aborts incomplete multipart uploads', abortDays, needed, 'resumable.expiry');
  tooSoon(`expires "${statePrefix}"`, stateDays, needed, 'resumable.expiry');
  tooSoon(`expires "${DIRECT_STAGING_PREFIX}"`, stagingDays, neededStaging, 'direct.expiry');
  const days = (value: number | undefined) => (value === undefined ? '-' : `${value}d`);
  const note = `abort ${days(abortDays)}, state ${days(stateDays)}, staging ${days(stagingDays)}`;
  return problems.length === 0
    ? { status: 'ok', note }
    : { status: 'warn', problem: `${problems.join('; ')}${remedy}`, note };
}
