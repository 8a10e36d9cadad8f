import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { outcomeUnknown } from '../../src/storage/drivers/s3/create-only.ts';
import { toAppError } from '../../src/storage/drivers/s3/errors.ts';

/** Which failed writes may still land (and are looked for afterwards, create-only.ts). */
const s3Answer = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const network = (code: string) => Object.assign(new Error(code), { code });
const failure = (cause: unknown) => toAppError(cause, { operation: 'PutObject', createOnly: true });

describe('outcomeUnknown', () => {
  it.each([
    ['a request timeout', Object.assign(new Error('timeout'), { name: 'TimeoutError' })],
    ['undici headers timeout', Object.assign(network('UND_ERR_HEADERS_TIMEOUT'), { name: 'TimeoutError' })],
    ['a reset connection', network('ECONNRESET')],
    ['a closed socket', network('UND_ERR_SOCKET')],
    ['S3 InternalError (500)', s3Answer('InternalError', 500)],
  ])('is true after %s', (_, cause) => {
    expect(outcomeUnknown(failure(cause))).toBe(true);
  });

  it.each([
    ['S3 SlowDown (503)', s3Answer('SlowDown', 503)],
    ['S3 ServiceUnavailable (503)', s3Answer('ServiceUnavailable', 503)],
    ['a failed precondition (412)', s3Answer('PreconditionFailed', 412)],
    ['AccessDenied (403)', s3Answer('AccessDenied', 403)],
    ['NotImplemented (501), as Swift answers a conditional PutObject', s3Answer('NotImplemented', 501)],
  ])('is false after %s: S3 answered, nothing was stored', (_, cause) => {
    expect(outcomeUnknown(failure(cause))).toBe(false);
  });

  it('is false for refusals of our own', () => {
    expect(outcomeUnknown(new AppError('PAYLOAD_TOO_LARGE', 'too large'))).toBe(false);
  });
});
