import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import { createS3Clients, resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import { objectParams } from '../../src/storage/drivers/s3/params.ts';
import { createQuickPut } from '../../src/storage/drivers/s3/quick-put.ts';
import { bucketUrl } from '../../src/storage/drivers/s3/urls.ts';

/**
 * The quick PutObject (quick-put.ts) sends the SDK's request: both write the same create-only upload
 * to a server that records what arrives, and the two requests must agree on the path, the body and
 * every header but the SDK's own bookkeeping (user agent, invocation id, attempt count) and the
 * date-dependent ones; the headers signed too. Whether S3 accepts the signature is
 * test/http/quick-put.test.ts's question, against the real server.
 */

interface Received {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

let server: Server;
let endpoint = '';
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        headers: request.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { etag: '"0123"', 'content-length': '0' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

/** The SDK's own: not part of what S3 is asked. */
const BOOKKEEPING = [
  'user-agent',
  'x-amz-user-agent',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
  'connection',
];
/** Change with the clock. */
const DATED = ['x-amz-date', 'authorization'];

const signedHeaders = (request: Received) =>
  (/SignedHeaders=([^,]+)/.exec(request.headers.authorization ?? '')?.[1] ?? '')
    .split(';')
    .filter((name) => !BOOKKEEPING.includes(name));

function comparable(request: Received) {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([name]) => !BOOKKEEPING.includes(name) && !DATED.includes(name)),
  );
  return { path: request.path.replace(/\?x-id=PutObject$/, ''), headers, signed: signedHeaders(request) };
}

const profile = {
  bucket: 'wire-bucket',
  acl: 'public-read',
  serverSideEncryption: 'aws:kms',
  kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/abcd',
  storageClass: 'STANDARD_IA',
  cacheControl: 'public,  max-age=60',
} as unknown as S3ProfileConfig;

describe.each([
  { checksums: 'when_required', signPayload: true },
  { checksums: 'when_required', signPayload: false },
  { checksums: 'when_supported', signPayload: true },
  { checksums: 'when_supported', signPayload: false },
] as const)('checksums $checksums, signPayload $signPayload', ({ checksums, signPayload }) => {
  it("sends the SDK's create-only PutObject, header for header", async () => {
    const connection = resolveS3Connection({
      endpoint,
      forcePathStyle: true,
      checksums,
      signPayload,
      credentials: { accessKeyId: 'AKIAWIRE', secretAccessKey: 'wire-secret', sessionToken: 'wire token' },
    });
    const { client, streamClient, presignClient } = createS3Clients(connection);
    const quick = createQuickPut({
      bucketUrl: bucketUrl({ ...connection, bucket: profile.bucket }),
      bucket: profile.bucket,
      region: connection.region,
      credentials: () => client.config.credentials(),
      timeoutMs: 5000,
      signPayload: connection.signPayload,
      checksums: connection.checksums,
    });
    try {
      const key = "dir/späce (1)!'*~.txt";
      const params = objectParams(profile.bucket, profile, key, {
        contentType: 'text/plain; charset=utf-8',
        contentDisposition: `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt`,
        originalName: 'a b/ü.txt',
        sha256: 'ab'.repeat(32),
      });
      params.Metadata = { ...params.Metadata, 'stowage-write': 'w-1' };
      const data = Buffer.alloc(10 * 1024, 7);
      received.length = 0;
      await client.send(
        new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, IfNoneMatch: '*' }),
      );
      expect(await quick(params, data)).toEqual({ etag: '"0123"' });
      const [sdk, ours] = received;
      expect(sdk && ours).toBeTruthy();
      expect(comparable(ours!)).toEqual(comparable(sdk!));
      expect(ours!.body.equals(data)).toBe(true);
      // The case for the comparison above to hold something.
      expect(ours!.headers['x-amz-content-sha256']).toMatch(
        signPayload ? /^[0-9a-f]{64}$/ : /^UNSIGNED-PAYLOAD$/,
      );
      expect(ours!.headers['x-amz-checksum-crc32'] !== undefined).toBe(checksums === 'when_supported');
      expect(ours!.headers['if-none-match']).toBe('*');
    } finally {
      quick.close();
      client.destroy();
      streamClient.destroy();
      presignClient.destroy();
    }
  });
});

it('leaves a write with a field it does not send to the SDK', async () => {
  const quick = createQuickPut({
    bucketUrl: `${endpoint}/wire-bucket`,
    bucket: 'wire-bucket',
    region: 'us-east-1',
    credentials: async () => ({ accessKeyId: 'AKIAWIRE', secretAccessKey: 'wire-secret' }),
    timeoutMs: 5000,
    signPayload: true,
    checksums: 'when_required',
  });
  try {
    received.length = 0;
    const data = Buffer.from('x');
    expect(await quick({ Bucket: 'wire-bucket', Key: 'a', Tagging: 'a=b' }, data)).toBeUndefined();
    expect(await quick({ Bucket: 'other-bucket', Key: 'a' }, data)).toBeUndefined();
    expect(received).toEqual([]);
  } finally {
    quick.close();
  }
});
