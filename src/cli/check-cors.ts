import { type CORSRule, GetBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketCors } from './bucket-settings.ts';
import { classify } from './check-classify.ts';
import type { StorageReport } from './check-report.ts';
import { bucketArn, missingPermission, type S3Storage } from './permissions.ts';

/**
 * `check`'s CORS step for one S3 storage: browsers at the configured origins (`auth.cors.origins`) can
 * reach the bucket the way direct uploads and presigned reads need — every origin allowed by a rule
 * that permits the methods `stowage bucket-cors` prints, any request header, and exposes `ETag`
 * (without it Uppy's multipart uploads cannot complete). No configured origins: nothing to check.
 * Missing rules are warnings: Stowage itself works, browsers talking to the bucket do not.
 */
type CorsStep = StorageReport['steps']['cors'];

/** The methods the printed rule allows: what direct uploads and presigned reads send. */
const NEEDED_METHODS = bucketCors([], 0).CORSRules.flatMap((rule) => rule.AllowedMethods);

/** S3 allows one `*` wildcard in an allowed origin. */
const originMatches = (allowed: string, origin: string): boolean =>
  allowed === '*' ||
  allowed === origin ||
  new RegExp(
    `^${allowed
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(origin);

/** What a rule allowing `origin` still lacks (empty: it is enough). */
function lacking(rule: CORSRule): string[] {
  const methods = new Set(rule.AllowedMethods ?? []);
  const exposed = new Set((rule.ExposeHeaders ?? []).map((header) => header.toLowerCase()));
  return [
    ...NEEDED_METHODS.filter((method) => !methods.has(method)),
    ...(rule.AllowedHeaders?.includes('*') ? [] : ['AllowedHeaders *']),
    ...(exposed.has('etag') ? [] : ['ExposeHeaders ETag']),
  ];
}

export async function checkBucketCors(
  storage: S3Storage,
  client: S3Client,
  origins: readonly string[],
  options: { abortSignal: AbortSignal },
): Promise<CorsStep> {
  if (origins.length === 0) return { status: 'skip', note: 'no origins' };
  const arn = bucketArn(storage);
  const remedy = '; `stowage bucket-cors` prints the rules (README "Deploy")';
  let rules: CORSRule[];
  try {
    rules =
      (await client.send(new GetBucketCorsCommand({ Bucket: storage.profile.bucket }), options)).CORSRules ??
      [];
  } catch (error) {
    const { kind, code } = classify(error);
    if (code === 'NoSuchCORSConfiguration')
      return {
        status: 'warn',
        problem: `no CORS rules on ${arn}: browsers at ${origins.join(', ')} cannot upload to it directly or read presigned URLs from scripts${remedy}`,
        note: 'missing',
      };
    if (kind === 'denied')
      return {
        status: 'warn',
        problem: `cannot read the CORS rules: missing ${missingPermission(storage, 'GetBucketCors')} (${code})`,
        note: 'unknown',
      };
    return { status: 'warn', problem: `cannot read the CORS rules of ${arn} (${code})`, note: 'unknown' };
  }
  const problems = origins.flatMap((origin) => {
    const allowing = rules.filter((rule) =>
      (rule.AllowedOrigins ?? []).some((allowed) => originMatches(allowed, origin)),
    );
    if (allowing.length === 0) return [`no CORS rule on ${arn} allows ${origin}`];
    const [best = []] = allowing.map(lacking).sort((a, b) => a.length - b.length);
    return best.length === 0 ? [] : [`the CORS rule on ${arn} for ${origin} lacks ${best.join(', ')}`];
  });
  return problems.length === 0
    ? { status: 'ok', note: `${origins.length} origin${origins.length === 1 ? '' : 's'}` }
    : { status: 'warn', problem: `${problems.join('; ')}${remedy}`, note: 'incomplete' };
}
