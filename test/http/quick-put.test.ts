import type { IncomingMessage } from 'node:http';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createQuickPut } from '../../src/storage/drivers/s3/quick-put.ts';
import { stowageApi } from '../support/api.ts';
import { form, sha256 } from '../support/payloads.ts';
import { useS3Interceptor } from '../support/s3-interceptor.ts';
import { useStowage } from '../support/stowage.ts';
import { useTestBucket } from '../support/test-bucket.ts';

/**
 * The create-only write of a body in memory without the SDK (quick-put.ts), against the real S3
 * server: S3 accepts its signature, signed body or not, and stores what the SDK's PutObject would;
 * 412 is "the key is taken". Through Stowage (an HTTP proxy in front of S3 counting what passes), a
 * small upload is one request on the quick path, and an answer that path does not take is sent again
 * through the SDK. Without this, a signature S3 refused would silently double every small upload.
 */

/** Only the SDK sends it: tells the two paths apart on the wire. */
const fromSdk = (request: IncomingMessage) => request.headers['amz-sdk-invocation-id'] !== undefined;

describe('quick PutObject against S3', () => {
  const target = useTestBucket('quickput');
  const { server, client } = target;
  const quick = (signPayload: boolean, secretAccessKey = server.secretAccessKey) =>
    createQuickPut({
      bucketUrl: target.url,
      bucket: target.bucket,
      region: target.connection.region,
      credentials: async () => ({ accessKeyId: server.accessKeyId, secretAccessKey }),
      timeoutMs: 5000,
      signPayload,
      checksums: target.connection.checksums,
    });

  it.each([true, false])(
    'stores what the SDK stores, for awkward keys (signPayload %s); 412 once the key is taken',
    async (signPayload) => {
      const put = quick(signPayload);
      try {
        for (const key of ['a.png', "dir/späce (1)!'*~.txt", 'q?#%;:,@+=&.bin', 'unicode/März 🎉.pdf']) {
          const ours = `${signPayload}/${key}`;
          const theirs = `${signPayload}-sdk/${key}`;
          const fields = {
            Bucket: target.bucket,
            ContentType: 'text/plain; charset=utf-8',
            CacheControl: 'public,  max-age=60',
            ContentDisposition: `attachment; filename*=UTF-8''x%20y.txt`,
            Metadata: { 'original-name': 'x%20y.txt', 'stowage-write': 'w-1' },
          };
          const data = Buffer.from(`body of ${key}`);
          const answer = await put({ ...fields, Key: ours }, data);
          expect(answer, key).toEqual({ etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
          await client.send(new PutObjectCommand({ ...fields, Key: theirs, Body: data }));
          const [stored, expected] = await Promise.all(
            [ours, theirs].map((Key) => client.send(new HeadObjectCommand({ Bucket: target.bucket, Key }))),
          );
          const described = (head: typeof stored) => ({
            ETag: head?.ETag,
            ContentLength: head?.ContentLength,
            ContentType: head?.ContentType,
            CacheControl: head?.CacheControl,
            ContentDisposition: head?.ContentDisposition,
            Metadata: head?.Metadata,
          });
          expect(described(stored), key).toEqual(described(expected));
          expect(stored?.ETag).toBe(answer !== 'exists' ? answer?.etag : undefined);
          expect(await put({ ...fields, Key: ours }, Buffer.from('another body'))).toBe('exists');
        }
      } finally {
        put.close();
      }
    },
  );

  it('answers "ask the SDK" (undefined) when S3 refuses its signature', async () => {
    const put = quick(true, 'wrong-secret');
    try {
      expect(await put({ Bucket: target.bucket, Key: 'refused.bin' }, Buffer.from('x'))).toBeUndefined();
    } finally {
      put.close();
    }
  });
});

describe('small uploads through Stowage', () => {
  const s3 = useS3Interceptor();
  const stowage = useStowage({
    buckets: ['small'],
    storages: (buckets) => ({
      small: { driver: 's3', bucket: buckets.small ?? '', s3: { endpoint: s3.url } },
    }),
  });
  const api = stowageApi(stowage);
  /** The requests S3 got while `action` ran, by method. */
  async function sent(action: () => Promise<void>) {
    s3.reset();
    await action();
    return s3.counts;
  }

  it('a PUT and a form upload are one PutObject each, on the quick path', async () => {
    const body = Buffer.alloc(10 * 1024, 1);
    s3.refuse(fromSdk, 500, 'InternalError');
    try {
      const counts = await sent(async () => {
        const put = await api.put('small', 'one.bin', body);
        expect(put.status).toBe(201);
        expect(put.json.checksum.sha256).toBe(sha256(body));
        const posted = await api.upload('small', form({ name: 'two.bin', data: body }));
        expect(posted.status).toBe(201);
      });
      // Any request from the SDK was refused; none was needed.
      expect(counts).toEqual({ PUT: 2 });
    } finally {
      s3.refuse(undefined);
    }
    expect(sha256((await stowage.backend('small').object('one.bin')).body)).toBe(sha256(body));
  });

  it('a taken key is 409 OBJECT_EXISTS from the quick answer alone, the object untouched', async () => {
    const first = Buffer.from('first');
    expect((await api.put('small', 'taken.bin', first)).status).toBe(201);
    const counts = await sent(async () => {
      const again = await api.put('small', 'taken.bin', Buffer.from('second'));
      expect(again.status).toBe(409);
      expect(again.json.error?.code).toBe('OBJECT_EXISTS');
    });
    expect(counts).toEqual({ PUT: 1 });
    expect((await stowage.backend('small').object('taken.bin')).body.equals(first)).toBe(true);
  });

  it.each([
    { status: 500, code: 'InternalError' },
    { status: 403, code: 'AccessDenied' },
    { status: 409, code: 'ConditionalRequestConflict' },
    { status: 307, code: 'TemporaryRedirect' },
  ])(
    'an answer $status from the quick path is sent again through the SDK, which stores it',
    async ({ status, code }) => {
      const key = `fallback-${status}.bin`;
      s3.refuse((request) => !fromSdk(request), status, code);
      try {
        const counts = await sent(async () => {
          const put = await api.put('small', key, Buffer.from(key));
          expect(put.status).toBe(201);
        });
        expect(counts).toEqual({ PUT: 2 });
      } finally {
        s3.refuse(undefined);
      }
      expect((await stowage.backend('small').object(key)).body.toString()).toBe(key);
    },
  );
});
