import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRequestSigner } from '../../src/storage/drivers/s3/sigv4.ts';
import { sdkSigner } from '../support/sdk-signer.ts';

/**
 * Stowage's header signer (sigv4.ts, what quick-put.ts and quick-head.ts send) against AWS's own
 * (@smithy/signature-v4, the SDK's): the same request at the same instant gets the same
 * Authorization, whichever headers it carries.
 */

afterEach(() => {
  vi.useRealTimers();
});

const host = '127.0.0.1:7480';
const date = new Date('2026-12-04T01:02:03Z');

async function sdkAuthorization(
  path: string,
  headers: Record<string, string>,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): Promise<string | undefined> {
  const signer = sdkSigner(credentials);
  const signed = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 7480,
      path,
      query: {},
      headers: { ...headers, host },
    },
    { signingDate: date },
  );
  return signed.headers.authorization;
}

describe('createRequestSigner', () => {
  it.each([
    { name: 'a signed body', payload: 'ab'.repeat(32), token: undefined },
    { name: 'an unsigned body, with a session token', payload: 'UNSIGNED-PAYLOAD', token: 'the token' },
  ])('signs $name as the SDK signs it', async ({ payload, token }) => {
    vi.useFakeTimers({ now: date, toFake: ['Date'] });
    const credentials = {
      accessKeyId: 'AKIASIGN',
      secretAccessKey: 'sign-secret',
      ...(token && { sessionToken: token }),
    };
    const headers = {
      'content-length': '10240',
      'content-type': 'text/plain; charset=utf-8',
      // Unsignable for the SDK; folded whitespace in the others.
      'cache-control': 'public,  max-age=60',
      'content-disposition': "  attachment;   filename*=UTF-8''a%20b.txt ",
      'if-none-match': '*',
      'x-amz-meta-original-name': 'a%20b.txt',
      'x-amz-acl': 'private',
    };
    const path = '/bucket/dir/sp%C3%A4ce%20%281%29.txt';
    const ours = createRequestSigner(host, 'us-east-1')('PUT', path, headers, payload, credentials);
    const sdk = await sdkAuthorization(
      path,
      {
        ...headers,
        'x-amz-content-sha256': payload,
        'x-amz-date': '20261204T010203Z',
        ...(token && { 'x-amz-security-token': token }),
      },
      credentials,
    );
    expect(ours.authorization).toBe(sdk);
    expect(ours.authorization).not.toContain('cache-control');
    expect(ours['x-amz-date']).toBe('20261204T010203Z');
    expect(ours['x-amz-security-token']).toBe(token);
  });
});
