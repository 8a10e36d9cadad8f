import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { toAppError } from '../../src/storage/drivers/s3/errors.ts';

/** Shapes as the SDK produces them (checked against Ceph RGW): name = S3 code, $metadata.httpStatusCode. */
const s3Error = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`The bucket secret-bucket says ${name}`), {
    name,
    $metadata: { httpStatusCode: status },
    BucketName: 'secret-bucket',
    ...extra,
  });

const nodeError = (code: string, message = `connect ${code} 10.0.0.1:443`) =>
  Object.assign(new Error(message), { code });

describe('toAppError', () => {
  it.each([
    ['NoSuchKey', 404, 'GetObject', 'OBJECT_NOT_FOUND'],
    ['NotFound', 404, 'HeadObject', 'OBJECT_NOT_FOUND'],
    ['NoSuchBucket', 404, 'GetObject', 'STORAGE_ERROR'],
    ['NotFound', 404, 'HeadBucket', 'STORAGE_ERROR'],
    ['NoSuchUpload', 404, 'AbortMultipartUpload', 'STORAGE_ERROR'],
    ['ConditionalRequestConflict', 409, 'PutObject', 'WRITE_CONFLICT'],
    ['InvalidRange', 416, 'GetObject', 'RANGE_NOT_SATISFIABLE'],
    ['AccessDenied', 403, 'PutObject', 'STORAGE_ERROR'],
    ['InvalidAccessKeyId', 403, 'PutObject', 'STORAGE_ERROR'],
    ['SignatureDoesNotMatch', 403, 'GetObject', 'STORAGE_ERROR'],
    ['Unknown', 403, 'HeadBucket', 'STORAGE_ERROR'],
    ['AccessControlListNotSupported', 400, 'PutObject', 'STORAGE_ERROR'],
    ['RequestTimeout', 400, 'UploadPart', 'STORAGE_TIMEOUT'],
    ['SlowDown', 503, 'PutObject', 'STORAGE_UNAVAILABLE'],
    ['InternalError', 500, 'CompleteMultipartUpload', 'STORAGE_UNAVAILABLE'],
    ['Unknown', 502, 'GetObject', 'STORAGE_UNAVAILABLE'],
    ['NotImplemented', 501, 'PutObject', 'STORAGE_NOT_SUPPORTED'],
    ['Unknown', 501, 'CompleteMultipartUpload', 'STORAGE_NOT_SUPPORTED'],
    ['Unknown', 505, 'GetObject', 'STORAGE_NOT_SUPPORTED'],
  ])('%s (%i) during %s ⇒ %s', (name, status, operation, code) => {
    const error = toAppError(s3Error(name, status), { operation });
    expect(error.code).toBe(code);
    expect(error.details).toBeUndefined(); // diagnostics are not for clients
    expect(error.backend).toEqual({ operation, code: name });
  });

  it('maps a failed precondition to OBJECT_EXISTS only for create-only writes', () => {
    expect(
      toAppError(s3Error('PreconditionFailed', 412), { operation: 'PutObject', createOnly: true }).code,
    ).toBe('OBJECT_EXISTS');
    expect(toAppError(s3Error('PreconditionFailed', 412), { operation: 'GetObject' }).code).toBe(
      'PRECONDITION_FAILED',
    );
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH'])(
    'maps network failure %s to STORAGE_UNAVAILABLE with Retry-After',
    (code) => {
      const error = toAppError(nodeError(code), { operation: 'HeadBucket' });
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.status).toBe(503);
      expect(error.headers['Retry-After']).toMatch(/^\d+$/);
      expect(error.backend).toEqual({ operation: 'HeadBucket', code });
    },
  );

  // undici's errors, renamed as @smithy/undici-http-handler renames them before the SDK sees them.
  it.each([
    [new errors.ConnectTimeoutError(), 'TimeoutError', 'STORAGE_UNAVAILABLE'],
    [new errors.SocketError('other side closed'), 'RequestTimeout', 'STORAGE_UNAVAILABLE'],
    [new errors.ClientClosedError(), undefined, 'STORAGE_UNAVAILABLE'],
    [new errors.HeadersTimeoutError(), 'TimeoutError', 'STORAGE_TIMEOUT'],
    [new errors.BodyTimeoutError(), 'TimeoutError', 'STORAGE_TIMEOUT'],
    [new errors.RequestAbortedError(), 'AbortError', 'CLIENT_CLOSED_REQUEST'],
  ])('maps undici %s (renamed %s) to %s', (cause, name, code) => {
    if (name !== undefined) Object.assign(cause, { name });
    const error = toAppError(cause, { operation: 'UploadPart' });
    expect(error.code).toBe(code);
    expect(error.backend).toEqual({ operation: 'UploadPart', code: cause.code });
  });

  it('maps request and socket timeouts to STORAGE_TIMEOUT (504)', () => {
    const requestTimeout = Object.assign(
      new Error('a request has exceeded the configured 30000 ms requestTimeout.'),
      {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
      },
    );
    const socketTimeout = Object.assign(
      new Error('the request socket timed out after 30000 ms of inactivity'),
      {
        name: 'TimeoutError',
      },
    );
    for (const cause of [requestTimeout, socketTimeout, nodeError('ETIMEDOUT')]) {
      const error = toAppError(cause, { operation: 'GetObject' });
      expect(error.code).toBe('STORAGE_TIMEOUT');
      expect(error.status).toBe(504);
    }
  });

  it('maps an aborted request to CLIENT_CLOSED_REQUEST', () => {
    const abort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    expect(toAppError(abort, { operation: 'GetObject' }).code).toBe('CLIENT_CLOSED_REQUEST');
  });

  it('never puts the S3 message (bucket names) in the client-facing message, and keeps the cause', () => {
    for (const [name, status] of [
      ['AccessDenied', 403],
      ['NoSuchBucket', 404],
      ['InternalError', 500],
      ['NoSuchKey', 404],
    ] as const) {
      const cause = s3Error(name, status);
      const error = toAppError(cause, { operation: 'GetObject' });
      expect(error.message).not.toContain('secret-bucket');
      expect(error.details).toBeUndefined();
      expect(JSON.stringify(error.backend)).not.toContain('secret-bucket');
      expect(error.cause).toBe(cause);
    }
  });

  it('passes an AppError through unchanged', () => {
    const original = new AppError('PAYLOAD_TOO_LARGE', 'too large');
    expect(toAppError(original, { operation: 'PutObject' })).toBe(original);
  });

  it('maps anything unrecognised to STORAGE_ERROR', () => {
    expect(toAppError('weird', { operation: 'PutObject' }).code).toBe('STORAGE_ERROR');
    expect(toAppError(new Error('mystery'), { operation: 'PutObject' }).backend).toEqual({
      operation: 'PutObject',
      code: 'Unknown',
    });
  });
});
