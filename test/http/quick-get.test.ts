import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.ts';
import type { GetResult } from '../../src/storage/driver.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { createQuickGet, type QuickGet, quickGetObject } from '../../src/storage/drivers/s3/quick-get.ts';
import { getObject } from '../../src/storage/drivers/s3/read.ts';
import { SlotBody } from '../../src/storage/drivers/s3/slot-body.ts';
import { useTestBucket } from '../support/test-bucket.ts';

/**
 * The driver's own GetObject (quick-get.ts) against the real S3 server, beside the SDK's: the same
 * answers for the same objects — whole, ranged, conditional (Ceph sends no ETag with a 304, and
 * honours only one tag), a reservation read as absent, a missing key and an unsatisfiable range asked
 * again through the SDK — and a body read by a reader that keeps every chunk (the copied mode, what
 * `npm run cli -- check` does) identical to what was stored. The HTTP side, where chunks are views of
 * reused memory, is test/http/quick-get-reuse.test.ts.
 */

const MiB = 2 ** 20;

describe('quick GET', () => {
  const target = useTestBucket('quickget');
  const { server, client } = target;
  const settings = (secretAccessKey = server.secretAccessKey) => ({
    bucketUrl: target.url,
    region: target.connection.region,
    credentials: async () => ({ accessKeyId: server.accessKeyId, secretAccessKey }),
    timeoutMs: 5000,
    connectTimeoutMs: 3000,
  });
  // The bucket exists (and so its URL) once the hooks ran.
  let quick: QuickGet;
  beforeAll(() => {
    quick = createQuickGet(settings());
  });
  afterAll(() => quick.close());
  const context = () => ({ client, bucket: target.bucket }) as unknown as S3Context;
  const read = async (result: GetResult) => {
    if (result.notModified) throw new Error('unexpected 304');
    const chunks: Buffer[] = [];
    for await (const chunk of result.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const put = (Key: string, Body: Buffer | string, Metadata?: Record<string, string>) =>
    client.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key,
        Body,
        ContentType: 'application/pdf',
        CacheControl: 'max-age=60',
        ...(Metadata && { Metadata }),
      }),
    );

  it('reads what the SDK reads: whole, ranged, and a body kept chunk by chunk', async () => {
    const data = randomBytes(3 * MiB + 12_345);
    await put('dir/späce (1).pdf', data, { 'original-name': 'a%20b.pdf', sha256: 'cd'.repeat(32) });
    const answer = await quick({ key: 'dir/späce (1).pdf' });
    expect(answer?.status).toBe(200);
    expect(answer !== undefined && 'body' in answer && answer.body instanceof SlotBody).toBe(true);
    if (answer !== undefined && 'body' in answer) answer.body.destroy();

    const mine = await quickGetObject(context(), quick, { key: 'dir/späce (1).pdf' });
    const sdk = await getObject(context(), { key: 'dir/späce (1).pdf' });
    expect(mine.info).toEqual(sdk.info);
    const [mineBytes, sdkBytes] = [await read(mine), await read(sdk)];
    expect(createHash('sha256').update(mineBytes).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    expect(sdkBytes.equals(data)).toBe(true);

    const range = { start: 70_000, end: 2 * MiB + 5 };
    const ranged = await quickGetObject(context(), quick, { key: 'dir/späce (1).pdf', range });
    const sdkRanged = await getObject(context(), { key: 'dir/späce (1).pdf', range });
    expect(ranged.notModified || ranged.range).toEqual({ ...range, total: data.length });
    expect(ranged.info).toEqual(sdkRanged.info);
    expect((await read(ranged)).equals(data.subarray(range.start, range.end + 1))).toBe(true);
    await read(sdkRanged);
  });

  it('304 with the tag (Ceph sends none), a tag list decided here, an empty object, one connection reused', async () => {
    const { ETag } = await put('cached.pdf', 'cached bytes');
    const etag = ETag ?? '';
    for (const ifNoneMatch of [etag, `"other", ${etag}`, '*']) {
      const result = await quickGetObject(context(), quick, { key: 'cached.pdf', ifNoneMatch });
      expect(result, ifNoneMatch).toMatchObject({ notModified: true, info: { etag } });
    }
    const changed = await quickGetObject(context(), quick, { key: 'cached.pdf', ifNoneMatch: '"else"' });
    expect((await read(changed)).toString()).toBe('cached bytes');
    await put('empty.pdf', '');
    const empty = await quickGetObject(context(), quick, { key: 'empty.pdf' });
    expect(empty.info.size).toBe(0);
    expect((await read(empty)).length).toBe(0);
  });

  it('a reservation reads as absent; a missing key and a range past the end go through the SDK', async () => {
    await put('reserved.pdf', 'stowage-reservation x', {
      'stowage-reservation': String(Date.now() + 60_000),
    });
    const failure = (input: Parameters<typeof quick>[0]) =>
      quickGetObject(context(), quick, input).then(
        () => 'answered',
        (error: unknown) => (isAppError(error) ? error : 'not an AppError'),
      );
    expect(await failure({ key: 'reserved.pdf' })).toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await failure({ key: 'no/such.pdf' })).toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    await put('short.pdf', 'x'.repeat(100));
    expect(await failure({ key: 'short.pdf', range: { start: 500, end: 600 } })).toMatchObject({
      code: 'RANGE_NOT_SATISFIABLE',
      headers: { 'Content-Range': 'bytes */100' },
    });
  });

  it('"ask the SDK" (undefined) when S3 refuses its signature; an aborted read is the client gone', async () => {
    const refused = createQuickGet(settings('wrong-secret'));
    try {
      expect(await refused({ key: 'cached.pdf' })).toBeUndefined();
    } finally {
      refused.close();
    }
    const abort = new AbortController();
    abort.abort();
    await expect(
      quickGetObject(context(), quick, { key: 'cached.pdf', signal: abort.signal }),
    ).rejects.toMatchObject({ code: 'CLIENT_CLOSED_REQUEST' });
  });
});
