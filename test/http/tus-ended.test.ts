import { describe, expect, it } from 'vitest';
import { STATE_PREFIX } from '../../src/storage/drivers/s3/resumable.ts';
import { png } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * What a tus upload answers once it is over (issue 14, point 5): expired (410 UPLOAD_EXPIRED, with
 * its Upload-Expires, whatever S3 still holds), terminated (404 UPLOAD_NOT_FOUND, as if it never
 * existed) and finished (410 UPLOAD_FINISHED to PATCH and DELETE; HEAD and GET still answer), for
 * every method a client may send. Expiry is one second here, so an upload expires within a test.
 */
const MiB = 2 ** 20;
const stowage = useStowage({
  buckets: ['ended'],
  storages: (buckets) => ({
    tus: { driver: 's3', bucket: buckets.ended ?? '', partSize: '5MiB', maxFileSize: '64MiB' },
  }),
  config: { resumable: { expiry: '1s' } },
});
const TUS = { 'tus-resumable': '1.0.0' };

async function create(length: number): Promise<string> {
  const answer = await fetch(`${stowage.url}/v1/storages/tus/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(length) },
  });
  expect(answer.status).toBe(201);
  return answer.headers.get('location') ?? '';
}

const patch = (location: string, offset: number, body: Buffer) =>
  fetch(location, {
    method: 'PATCH',
    headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
    body,
  });

/** Each method on the upload URL: status and error code (HEAD has no body). */
async function answers(location: string) {
  const code = async (answer: Response) =>
    answer.status >= 400 ? ((await answer.json()) as { error: { code: string } }).error.code : answer.status;
  const head = await fetch(location, { method: 'HEAD', headers: TUS });
  return {
    head: head.status,
    patch: await code(await patch(location, 0, Buffer.from('x'))),
    override: await code(
      await fetch(location, {
        method: 'POST',
        headers: {
          ...TUS,
          'x-http-method-override': 'PATCH',
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
        },
        body: 'x',
      }),
    ),
    delete: await code(await fetch(location, { method: 'DELETE', headers: TUS })),
    get: await code(await fetch(location)),
    expires: head.headers.get('upload-expires'),
  };
}

describe('tus uploads that are over', () => {
  it('expired: 410 UPLOAD_EXPIRED to every method, with Upload-Expires, although S3 still holds its bytes', async () => {
    const location = await create(2 * MiB);
    const first = await patch(location, 0, png(MiB));
    expect(first.status).toBe(204);
    const expires = Date.parse(first.headers.get('upload-expires') ?? '');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 1100));
    expect(await answers(location)).toEqual({
      head: 410,
      patch: 'UPLOAD_EXPIRED',
      override: 'UPLOAD_EXPIRED',
      delete: 'UPLOAD_EXPIRED',
      get: 'UPLOAD_EXPIRED',
      expires: new Date(expires).toUTCString(),
    });
    // Its tail and (released) lease are still there: the expiry alone ends the upload; gc or the
    // lifecycle rule removes them.
    const state = await stowage.backend('tus').keys(STATE_PREFIX);
    expect(state.map((key) => key.split('/').at(-1))).toEqual(['lease', 'tail-00001']);
  });

  it('terminated: 404 UPLOAD_NOT_FOUND to every method', async () => {
    const location = await create(2 * MiB);
    expect((await patch(location, 0, png(MiB))).status).toBe(204);
    expect((await fetch(location, { method: 'DELETE', headers: TUS })).status).toBe(204);
    expect(await answers(location)).toMatchObject({
      head: 404,
      patch: 'UPLOAD_NOT_FOUND',
      override: 'UPLOAD_NOT_FOUND',
      delete: 'UPLOAD_NOT_FOUND',
      get: 'UPLOAD_NOT_FOUND',
    });
  });

  it('finished: PATCH and DELETE 410 UPLOAD_FINISHED; HEAD and GET still answer', async () => {
    const location = await create(MiB);
    expect((await patch(location, 0, png(MiB))).status).toBe(200);
    expect(await answers(location)).toMatchObject({
      head: 200,
      patch: 'UPLOAD_FINISHED',
      override: 'UPLOAD_FINISHED',
      delete: 'UPLOAD_FINISHED',
      get: 200,
    });
  });
});
