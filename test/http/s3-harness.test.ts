// Proves the integration harness: the server from global-setup answers, with the behaviour the
// Stowage tests rely on (signatures checked, conditional create, abortable multipart uploads).

import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  listAllKeys,
  listMultipartUploads,
  objectBody,
  s3Client,
} from '../support/s3-admin.ts';

const s3 = inject('s3');
const client = s3Client(s3);
let bucket: string;

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'harness');
});

afterAll(async () => {
  await emptyAndDeleteBucket(bucket);
  const gone = (await client.send(new HeadBucketCommand({ Bucket: bucket })).catch((e) => e)) as Error;
  expect(gone.name).toBe('NotFound');
  client.destroy();
});

/** The HTTP status of a failed SDK call. */
async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: { $metadata?: { httpStatusCode?: number } }) => e,
  );
  return error?.$metadata?.httpStatusCode;
}

describe(`S3 test server (${s3.kind} at ${s3.endpoint})`, () => {
  it('hands out plain connection info and a fresh, lowercase bucket', async () => {
    expect(s3.region).toBe('us-east-1');
    expect(bucket).toMatch(/^t-harness-[0-9a-f]{12}$/);
    await expect(client.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect(await listAllKeys(bucket)).toEqual([]);
  });

  it('stores and returns bytes unchanged', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 7);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/bytes.bin', Body: body }));
    expect((await objectBody(bucket, 'a/bytes.bin')).equals(body)).toBe(true);
    expect(await listAllKeys(bucket, 'a/')).toEqual(['a/bytes.bin']);
  });

  it("refuses PutObject with If-None-Match: '*' on an existing key (412)", async () => {
    const put = (body: string) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'once.txt', Body: body, IfNoneMatch: '*' }));
    await put('first');
    expect(await statusOf(put('second'))).toBe(412);
    expect((await objectBody(bucket, 'once.txt')).toString()).toBe('first');
  });

  it('serves a presigned GET URL, and refuses it when the signature is tampered with', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'signed.txt', Body: 'secret' }));
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'signed.txt' }), {
      expiresIn: 60,
    });
    const ok = await request(url);
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('secret');

    const tampered = new URL(url);
    const signature = tampered.searchParams.get('X-Amz-Signature') ?? '';
    tampered.searchParams.set(
      'X-Amz-Signature',
      `${signature.slice(0, -1)}${signature.endsWith('0') ? 1 : 0}`,
    );
    const denied = await request(tampered);
    await denied.body.dump();
    expect(denied.statusCode).toBe(403);
  });

  it('forgets an aborted multipart upload', async () => {
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp.bin' }),
    );
    if (!UploadId) throw new Error('no UploadId');
    await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'mp.bin',
        UploadId,
        PartNumber: 1,
        Body: randomBytes(1024),
      }),
    );
    expect(await listMultipartUploads(bucket)).toEqual([{ key: 'mp.bin', uploadId: UploadId }]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp.bin', UploadId }));
    expect(await listMultipartUploads(bucket)).toEqual([]);
    expect(await listAllKeys(bucket, 'mp')).toEqual([]);
  });
});
