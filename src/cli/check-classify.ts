import { httpStatusOf, isUnreachable, s3ErrorCode, toAppError } from '../storage/drivers/s3/errors.ts';

/** How `check` reads an S3 failure: bad credentials, a denied permission, no bucket, no S3 at all. */

const credentialCodes = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);
/** Aborts here are the check's own deadline (timeoutMs): S3 did not answer in time. */
const deadlineCodes = new Set(['AbortError', 'UND_ERR_ABORTED', 'TimeoutError']);

export type Failure = {
  kind: 'credentials' | 'denied' | 'no-bucket' | 'unreachable' | 'other';
  code: string;
};

/** What kind of failure an S3 error is, for `check`'s findings. */
export function classify(error: unknown): Failure {
  const code = s3ErrorCode(error) ?? 'Unknown';
  const status = httpStatusOf(error);
  if (credentialCodes.has(code)) return { kind: 'credentials', code };
  // What the driver calls unreachable, but only without an HTTP answer: S3 answering 500 or 503 was
  // reached, and its code says more than "cannot reach".
  const unreachable =
    deadlineCodes.has(code) ||
    (status === undefined && isUnreachable(toAppError(error, { operation: 'Check' }))) ||
    error instanceof AggregateError;
  if (unreachable) return { kind: 'unreachable', code };
  if (code === 'NoSuchBucket') return { kind: 'no-bucket', code };
  if (code === 'AccessDenied' || code === 'AllAccessDisabled' || status === 403)
    return { kind: 'denied', code: code === 'Unknown' ? '403' : code };
  return { kind: 'other', code: status !== undefined && code === 'Unknown' ? String(status) : code };
}
