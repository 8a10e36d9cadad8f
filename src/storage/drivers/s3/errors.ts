import { AppError, type BackendDiagnostics, isAppError } from '../../../errors.ts';

/**
 * Translates S3 SDK failures into catalogue errors. Client-facing messages are fixed strings: S3
 * messages can name the bucket (a secret from clients) and must not leak. The S3 code and operation go
 * to `backend` (logs and metrics), never to the client: the local driver answers alike. The
 * original error stays in `cause` for server logs.
 */

export interface S3ErrorContext {
  /** The S3 operation, e.g. 'PutObject'. */
  operation: string;
  /** The write was create-only, so a failed precondition means the key exists. */
  createOnly?: boolean;
}

/** Seconds a client should wait before retrying when S3 is unavailable. */
export const RETRY_AFTER_SECONDS = 2;

const networkCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // undici (the S3 client's HTTP handler): S3 closed or reset the connection, or never accepted it.
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const timeoutCodes = new Set([
  'TimeoutError',
  'RequestTimeout',
  'ETIMEDOUT',
  // undici: S3 accepted the request but did not answer, or stopped sending, within requestTimeout.
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
/** Our own abort (client gone, deadline, drain) as undici reports it. */
const abortCodes = new Set(['AbortError', 'UND_ERR_ABORTED']);
const unavailableCodes = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'ServiceUnavailableException',
]);
/**
 * Answers a retry cannot change: the server does not implement what was asked (Swift's s3api answers
 * 501 NotImplemented to a conditional PutObject). Not "unavailable": no Retry-After, and the write was
 * refused outright, so its outcome is known and nothing is looked for afterwards (create-only.ts).
 */
const notSupportedCodes = new Set(['NotImplemented']);
const notSupportedStatuses = new Set([501, 505]);
const notFoundCodes = new Set(['NoSuchKey', 'NotFound']);
/** 404s that are not about the object. */
const otherNotFoundCodes = new Set(['NoSuchBucket', 'NoSuchUpload']);
/** Operations whose 404 means the bucket, not an object, is missing. */
const bucketOperations = new Set(['HeadBucket', 'ListObjectsV2']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The S3 error code (or Node errno code) of a failure, when it has one. */
export function s3ErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as SdkErrorShape;
  // Node errno codes (ECONNREFUSED, ETIMEDOUT…) and undici's (UND_ERR_SOCKET…) say more than the names
  // the SDK's handler gives them ('Error', 'TimeoutError', or 'RequestTimeout' for a reset connection).
  if (typeof shape.code === 'string' && /^(E|UND_ERR_)[A-Z_]+$/.test(shape.code)) return shape.code;
  if (typeof shape.Code === 'string') return shape.Code;
  if (typeof shape.name === 'string' && shape.name !== 'Error') return shape.name;
  if (typeof shape.code === 'string') return shape.code;
  return undefined;
}

export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function toAppError(error: unknown, context: S3ErrorContext): AppError {
  if (isAppError(error)) return error;
  const s3Code = s3ErrorCode(error) ?? 'Unknown';
  const status = httpStatusOf(error);
  const options = { backend: { operation: context.operation, code: s3Code }, cause: error };

  if (abortCodes.has(s3Code))
    return new AppError('CLIENT_CLOSED_REQUEST', 'The request was aborted', options);
  // undici's connect timeout is a TimeoutError too, but an unreachable S3 is "unavailable", not slow.
  if (networkCodes.has(s3Code)) return unavailable(options);
  if (timeoutCodes.has(s3Code))
    return new AppError('STORAGE_TIMEOUT', 'The storage backend did not answer in time', options);
  const notFound = notFoundCodes.has(s3Code) || (status === 404 && !otherNotFoundCodes.has(s3Code));
  if (notFound && !bucketOperations.has(context.operation)) {
    return new AppError('OBJECT_NOT_FOUND', 'Object not found', options);
  }
  if (s3Code === 'PreconditionFailed' || status === 412) {
    return context.createOnly
      ? new AppError('OBJECT_EXISTS', 'An object with this key already exists', options)
      : new AppError('PRECONDITION_FAILED', 'A precondition on the object failed', options);
  }
  if (s3Code === 'ConditionalRequestConflict' || status === 409) {
    return new AppError('WRITE_CONFLICT', 'A concurrent write to this key is in progress; retry', options);
  }
  if (s3Code === 'InvalidRange' || status === 416) {
    return new AppError('RANGE_NOT_SATISFIABLE', 'The requested range is not satisfiable', options);
  }
  if (notSupportedCodes.has(s3Code) || (status !== undefined && notSupportedStatuses.has(status))) {
    return new AppError(
      'STORAGE_NOT_SUPPORTED',
      'The storage backend does not support this request',
      options,
    );
  }
  if (unavailableCodes.has(s3Code) || (status !== undefined && status >= 500)) return unavailable(options);
  return new AppError('STORAGE_ERROR', 'The storage backend rejected the request', options);
}

function unavailable(options: { backend: BackendDiagnostics; cause: unknown }): AppError {
  return new AppError('STORAGE_UNAVAILABLE', 'The storage backend is unavailable; retry later', {
    ...options,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });
}

/** True for a failure that says S3 could not be reached or did not answer in time (503/504). */
export const isUnreachable = (error: unknown): boolean =>
  isAppError(error) && (error.code === 'STORAGE_UNAVAILABLE' || error.code === 'STORAGE_TIMEOUT');

/** True for the SDK's "no such key" family, including HeadObject's bodiless 404. */
export const isNotFound = (error: unknown): boolean => {
  const code = s3ErrorCode(error) ?? '';
  return notFoundCodes.has(code) || (httpStatusOf(error) === 404 && !otherNotFoundCodes.has(code));
};

export const isPreconditionFailed = (error: unknown): boolean =>
  s3ErrorCode(error) === 'PreconditionFailed' || httpStatusOf(error) === 412;

export const isConditionalConflict = (error: unknown): boolean =>
  s3ErrorCode(error) === 'ConditionalRequestConflict' || httpStatusOf(error) === 409;
