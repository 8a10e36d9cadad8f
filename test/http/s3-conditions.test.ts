import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { reserve } from '../../src/storage/drivers/s3/create-only.ts';
import { stowageApi } from '../support/api.ts';
import { pdf, sha256 } from '../support/payloads.ts';
import { useS3Interceptor } from '../support/s3-interceptor.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * S3 behaviours Ceph 16 does not have, played by an HTTP proxy in front of it: AWS refusing a
 * CompleteMultipartUpload whose If-Match no longer holds, and the listing path for KMS storages
 * (their ETags are not MD5s, so reservations are found by HEAD, a few at a time).
 */
const MiB = 2 ** 20;
const s3 = useS3Interceptor();
const stowage = useStowage({
  buckets: ['cond', 'kms'],
  storages: (buckets) => ({
    cond: {
      driver: 's3',
      bucket: buckets.cond ?? '',
      overwrite: true,
      maxFileSize: '30MiB',
      partSize: '5MiB',
      queueSize: 2,
      s3: { endpoint: s3.url },
    },
    // Only listed here: Ceph without a KMS would refuse writes that ask for one.
    kms: {
      driver: 's3',
      bucket: buckets.kms ?? '',
      serverSideEncryption: 'aws:kms',
      s3: { endpoint: s3.url },
    },
  }),
});
const api = stowageApi(stowage);

describe('S3 conditions a proxy plays', () => {
  it('CompleteMultipartUpload refused on its If-Match (as AWS does): 412, upload aborted, object untouched', async () => {
    const key = 'doc.bin';
    const original = pdf(1000);
    const { etag } = (await api.put('cond', key, original)).json;
    s3.refuse(
      (request) =>
        request.method === 'POST' &&
        /[?&]uploadId=/.test(request.url ?? '') &&
        request.headers['if-match'] === etag,
    );
    try {
      const answer = await api.put('cond', key, pdf(11 * MiB), { 'if-match': etag });
      expect(answer.status).toBe(412);
      expect(answer.json.error?.code).toBe('PRECONDITION_FAILED');
    } finally {
      s3.refuse(undefined);
    }
    expect(sha256((await stowage.backend('cond').object(key)).body)).toBe(sha256(original));
    expect(await stowage.backend('cond').leftovers()).toEqual([]);
  });

  it('a server without conditional writes (501 to If-None-Match): a replacing PUT still stores, answered 201', async () => {
    s3.refuse(
      (request) => request.method === 'PUT' && request.headers['if-none-match'] !== undefined,
      501,
      'NotImplemented',
    );
    try {
      const body = pdf(1000);
      const answer = await api.put('cond', 'no-conditions.bin', body);
      expect(answer.status).toBe(201);
      expect(sha256((await stowage.backend('cond').object('no-conditions.bin')).body)).toBe(sha256(body));
    } finally {
      s3.refuse(undefined);
    }
  });

  it('KMS storage: only entries of a reservation size are HEADed, at most 4 at a time; reservations stay hidden', async () => {
    const Bucket = stowage.buckets.kms;
    const small = Array.from({ length: 40 }, (_, index) => `s/${String(index).padStart(2, '0')}.bin`);
    const large = Array.from({ length: 10 }, (_, index) => `t/${index}.bin`);
    await Promise.all([
      ...small.map((Key) =>
        stowage.s3.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.alloc(32, Key) })),
      ),
      ...large.map((Key) => stowage.s3.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.alloc(1000) }))),
    ]);
    // Written without KMS (Ceph has none here); the lister cannot tell, as on AWS.
    const profile = { ...(stowage.config.storages.kms as S3ProfileConfig), serverSideEncryption: undefined };
    const context = { client: stowage.s3, bucket: Bucket, profile, reservationTtlSeconds: 600 };
    await reserve(context as unknown as S3Context, 's/reserved.bin', 'w-test');
    s3.reset();
    const { status, json } = await api.list('kms', { limit: '1000' });
    expect(status).toBe(200);
    expect(json.objects.map((object) => object.key)).toEqual([...small, ...large]);
    expect(s3.counts).toEqual({ GET: 1, HEAD: 41 });
    expect(s3.maxHeadsInFlight).toBeLessThanOrEqual(4);
  });
});
