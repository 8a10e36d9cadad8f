import { buildPublicUrl } from '../storage/drivers/s3/urls.ts';
import type { Step } from './check-report.ts';
import { objectsArn, type S3Storage } from './permissions.ts';

/**
 * A public storage's URLs are plain (unsigned) GETs on the bucket or the CDN in front of it, which S3
 * refuses until the bucket has a policy allowing anonymous reads. So `check` fetches the probe object
 * at its public URL, without credentials, as a browser would, and says what is missing.
 */
export async function checkPublicRead(
  storage: S3Storage,
  probe: string,
  body: string,
  timeoutMs: number,
): Promise<Step> {
  const { profile, connection } = storage;
  if (profile.access !== 'public') return { status: 'skip' };
  const url = buildPublicUrl(probe, {
    ...connection,
    bucket: profile.bucket,
    publicBaseUrl: profile.publicBaseUrl,
  });
  const via = profile.publicBaseUrl === undefined ? 'the bucket' : `publicBaseUrl ${profile.publicBaseUrl}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { status: 'fail', problem: `public URLs do not answer: anonymous GET ${url} failed (${cause})` };
  }
  const text = await response.text().catch(() => '');
  if (response.ok && text === body) return { status: 'ok' };
  if (response.ok)
    return {
      status: 'fail',
      problem: `anonymous GET ${url} answered ${response.status} with other bytes than the probe object: ${via} does not map to the bucket root`,
    };
  if (response.status === 401 || response.status === 403)
    return {
      status: 'fail',
      problem:
        `public URLs answer ${response.status} (anonymous GET ${url}): the bucket needs a policy allowing ` +
        `s3:GetObject on ${objectsArn(storage)} to everyone (\`stowage bucket-policy\` prints it)` +
        (profile.publicBaseUrl === undefined ? '' : ', or the CDN must be allowed to read the bucket'),
    };
  return {
    status: 'fail',
    problem: `public URLs do not work: anonymous GET ${url} answered ${response.status}`,
  };
}
