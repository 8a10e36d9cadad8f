import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/cli/check-classify.ts';

/** How `check` names a failed call: "cannot reach S3" only when S3 gave no HTTP answer at all. */
const s3Answer = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('check: classify', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })],
    ['a reset connection', Object.assign(new Error('reset'), { code: 'ECONNRESET' })],
    ['a closed socket (undici)', Object.assign(new errors.SocketError('closed'), { name: 'RequestTimeout' })],
    ['a connect timeout (undici)', Object.assign(new errors.ConnectTimeoutError(), { name: 'TimeoutError' })],
    ['the check deadline', Object.assign(new Error('aborted'), { name: 'TimeoutError' })],
  ])('%s is unreachable', (_, error) => {
    expect(classify(error).kind).toBe('unreachable');
  });

  it.each([
    ['InternalError (500)', s3Answer('InternalError', 500), 'other'],
    ['SlowDown (503)', s3Answer('SlowDown', 503), 'other'],
    ['AccessDenied (403)', s3Answer('AccessDenied', 403), 'denied'],
    ['NoSuchBucket (404)', s3Answer('NoSuchBucket', 404), 'no-bucket'],
    ['InvalidAccessKeyId (403)', s3Answer('InvalidAccessKeyId', 403), 'credentials'],
  ])('S3 answering %s was reached', (_, error, kind) => {
    expect(classify(error)).toEqual({ kind, code: error.name });
  });
});
