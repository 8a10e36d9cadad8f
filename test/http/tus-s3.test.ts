import * as tus from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import { LEASE_TTL_MS } from '../../src/storage/drivers/s3/lease.ts';
import { STATE_PREFIX } from '../../src/storage/drivers/s3/resumable.ts';
import { contents } from '../support/backend.ts';
import { pdf, png, sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * tus 1.0 on the wire against real Ceph: the protocol driven with raw fetch (every status the routes
 * answer), then tus-js-client (Node) with small chunks. S3 storages only so far (the local driver has
 * no resumable store yet).
 */
const MiB = 2 ** 20;
const stowage = useStowage({
  buckets: ['tus', 'images'],
  storages: (buckets) => ({
    tus: { driver: 's3', bucket: buckets.tus ?? '', partSize: '5MiB', maxFileSize: '64MiB' },
    images: {
      driver: 's3',
      bucket: buckets.images ?? '',
      partSize: '5MiB',
      maxFileSize: '64MiB',
      allowedTypes: ['image/png'],
    },
  }),
  config: { resumable: { secret: 'a-resumable-secret-of-at-least-32-chars' } },
});
// A second instance on the first one's bucket, with the same secret: no state shared but S3.
const other = useStowage({
  storages: () => ({
    tus: { driver: 's3', bucket: stowage.buckets.tus ?? '', partSize: '5MiB', maxFileSize: '64MiB' },
  }),
  config: { resumable: { secret: 'a-resumable-secret-of-at-least-32-chars' } },
});
const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

async function create(
  storage: string,
  length: number,
  metadata = `filename ${b64('Grüße.pdf')},filetype ${b64('application/pdf')}`,
) {
  const answer = await fetch(`${stowage.url}/v1/storages/${storage}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': metadata },
  });
  return answer;
}

const patch = (location: string, offset: number, body: Buffer, headers: Record<string, string> = {}) =>
  fetch(location, {
    method: 'PATCH',
    headers: {
      ...TUS,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...headers,
    },
    body,
  });

const errorCode = async (answer: Response) =>
  ((await answer.json()) as { error: { code: string } }).error.code;

describe('tus on S3, raw protocol', () => {
  it('OPTIONS answers the capabilities without credentials', async () => {
    const answer = await fetch(`${stowage.url}/v1/storages/tus/uploads`, { method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('tus-version')).toBe('1.0.0');
    expect(answer.headers.get('tus-extension')).toBe('creation,creation-with-upload,termination,expiration');
    expect(answer.headers.get('tus-max-size')).toBe(String(64 * MiB));
  });

  it('create, HEAD, PATCH in 1 MiB chunks, a wrong offset 409, the last PATCH answers the object, GET serves it', async () => {
    const data = pdf(6 * MiB + 321);
    const created = await create('tus', data.length);
    expect(created.status).toBe(201);
    expect(created.headers.get('upload-expires')).toMatch(/GMT$/);
    const location = created.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^${stowage.url}/v1/storages/tus/uploads/u1\\.`));
    const head = await fetch(location, { method: 'HEAD', headers: TUS });
    expect([head.status, head.headers.get('upload-offset'), head.headers.get('upload-length')]).toEqual([
      200,
      '0',
      String(data.length),
    ]);
    let offset = 0;
    let last: Response | undefined;
    while (offset < data.length) {
      last = await patch(location, offset, data.subarray(offset, offset + MiB));
      offset = Math.min(offset + MiB, data.length);
      expect(last.headers.get('upload-offset')).toBe(String(offset));
      if (offset < data.length) {
        expect(last.status).toBe(204);
        const wrong = await patch(location, offset - 1, Buffer.from('x'));
        expect([wrong.status, await errorCode(wrong), wrong.headers.get('upload-offset')]).toEqual([
          409,
          'UPLOAD_OFFSET_MISMATCH',
          String(offset),
        ]);
      }
    }
    expect(last?.status).toBe(200);
    const receipt = (await last?.json()) as {
      key: string;
      size: number;
      contentType: string;
      originalName: string;
    };
    expect(receipt).toMatchObject({
      size: data.length,
      contentType: 'application/pdf',
      originalName: 'Grüße.pdf',
    });
    const stored = await stowage.backend('tus').object(receipt.key);
    expect(sha256(stored.body)).toBe(sha256(data));
    expect(stored.contentDisposition).toContain("filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf");
    const got = await fetch(location);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
    const after = await fetch(location, { method: 'HEAD', headers: TUS });
    expect(after.headers.get('upload-offset')).toBe(String(data.length));
    const again = await fetch(location, { method: 'DELETE', headers: TUS });
    expect([again.status, await errorCode(again)]).toEqual([410, 'UPLOAD_FINISHED']);
    expect(await stowage.backend('tus').keys(STATE_PREFIX)).toEqual([]);
  });

  it('refusals: no Tus-Resumable 412, Upload-Length over maxFileSize 413, PATCH of another type 415, past the length, a forged id 404', async () => {
    const noVersion = await fetch(`${stowage.url}/v1/storages/tus/uploads`, {
      method: 'POST',
      headers: { 'upload-length': '10' },
    });
    expect([noVersion.status, await errorCode(noVersion), noVersion.headers.get('tus-version')]).toEqual([
      412,
      'TUS_VERSION_UNSUPPORTED',
      '1.0.0',
    ]);
    const tooLarge = await create('tus', 64 * MiB + 1);
    expect([tooLarge.status, await errorCode(tooLarge)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const location = (await create('tus', 100)).headers.get('location') ?? '';
    const wrongType = await patch(location, 0, Buffer.alloc(10), { 'content-type': 'application/pdf' });
    expect(wrongType.status).toBe(415);
    const past = await patch(location, 0, Buffer.alloc(101));
    expect([past.status, await errorCode(past)]).toEqual([400, 'UPLOAD_PAST_LENGTH']);
    const forged = `${location.slice(0, -3)}AAA`;
    const unknown = await fetch(forged, { method: 'HEAD', headers: TUS });
    expect(unknown.status).toBe(404);
  });

  it('a type the storage refuses, sniffed from the first bytes: 415, the upload terminated, nothing stored', async () => {
    const data = pdf(2 * MiB);
    const location =
      (await create('images', data.length, `filetype ${b64('image/png')}`)).headers.get('location') ?? '';
    const refused = await patch(location, 0, data.subarray(0, MiB));
    expect(refused.status).toBe(415);
    expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
    expect(await contents(stowage.backend('images'))).toEqual({ keys: [], leftovers: [] });
  });

  it('termination: 204, then the upload is gone and nothing is left in S3', async () => {
    const data = pdf(7 * MiB);
    const location = (await create('tus', data.length)).headers.get('location') ?? '';
    expect((await patch(location, 0, data.subarray(0, 6 * MiB))).status).toBe(204);
    const terminated = await fetch(location, { method: 'DELETE', headers: TUS });
    expect(terminated.status).toBe(204);
    expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
    // Every other upload of this bucket finished: no multipart upload may be left.
    expect((await contents(stowage.backend('tus'))).leftovers).toEqual([]);
    expect(await stowage.backend('tus').keys(STATE_PREFIX)).toEqual([]);
  });
});

function tusUpload(data: Buffer, options: Partial<tus.UploadOptions>): Promise<tus.Upload> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: `${stowage.url}/v1/storages/tus/uploads`,
      metadata: { filename: 'picture.png', filetype: 'image/png' },
      retryDelays: [0, 100],
      ...options,
      onSuccess: () => resolve(upload),
      onError: reject,
    });
    upload.start();
  });
}

describe('tus-js-client (Node) on S3', () => {
  it('uploads 12 MiB in 1 MiB chunks: bytes identical, the stored type and name as a form upload', async () => {
    const data = png(12 * MiB);
    const upload = await tusUpload(data, { chunkSize: MiB });
    const id = upload.url?.split('/').at(-1) ?? '';
    const got = await fetch(upload.url ?? '');
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
    expect(id).toMatch(/^u1\./);
  });

  it('pause and resume: a second client continues from the offset the first reached', async () => {
    const data = png(9 * MiB);
    let firstUrl = '';
    await new Promise<void>((resolve, reject) => {
      const first: tus.Upload = new tus.Upload(data, {
        endpoint: `${stowage.url}/v1/storages/tus/uploads`,
        chunkSize: MiB,
        metadata: { filename: 'paused.png', filetype: 'image/png' },
        onChunkComplete: (_chunk, sent) => {
          if (sent >= 3 * MiB) {
            firstUrl = first.url ?? '';
            first.abort().then(resolve, reject);
          }
        },
        onError: reject,
      });
      first.start();
    });
    const head = await fetch(firstUrl, { method: 'HEAD', headers: TUS });
    expect(Number(head.headers.get('upload-offset'))).toBeGreaterThanOrEqual(3 * MiB);
    const resumed: number[] = [];
    await tusUpload(data, {
      uploadUrl: firstUrl,
      chunkSize: 2 * MiB,
      onProgress: (sent) => resumed.push(sent),
    });
    expect(resumed[0]).toBeGreaterThanOrEqual(3 * MiB);
    const got = await fetch(firstUrl);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
  });

  it('resumes on another instance (same bucket, same secret): it continues from the offset in S3', async () => {
    const data = png(8 * MiB);
    const location =
      (await create('tus', data.length, `filetype ${b64('image/png')}`)).headers.get('location') ?? '';
    expect((await patch(location, 0, data.subarray(0, 3 * MiB))).status).toBe(204);
    const elsewhere = location.replace(stowage.url, other.url);
    const upload = await tusUpload(data, {
      uploadUrl: elsewhere,
      chunkSize: 2 * MiB,
      endpoint: `${other.url}/v1/storages/tus/uploads`,
    });
    expect(upload.url).toBe(elsewhere);
    const got = await fetch(location);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
  });

  it('a second PATCH while one is running: 423 at once and for as long as it runs; the first one finishes its chunk', async () => {
    const data = pdf(2 * MiB);
    const location = (await create('tus', data.length)).headers.get('location') ?? '';
    let finish: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let sent: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(data.subarray(0, MiB));
        sent();
        await held;
        controller.close();
      },
    });
    const first = fetch(location, {
      method: 'PATCH',
      headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: slow,
      duplex: 'half',
    } as RequestInit);
    await started;
    // The lease is taken before the body is read: give the first request its turn at S3.
    let second: Response | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      second = await patch(location, 0, Buffer.alloc(0)); // harmless if it comes first
      if (second.status === 423) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([second?.status, second && (await errorCode(second))]).toEqual([423, 'UPLOAD_LOCKED']);
    // Past twice the lease's TTL the first request still holds it: it renews it while it runs.
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_TTL_MS));
    const later = await patch(location, 0, Buffer.alloc(0));
    expect([later.status, await errorCode(later)]).toEqual([423, 'UPLOAD_LOCKED']);
    finish();
    const answer = await first;
    expect([answer.status, answer.headers.get('upload-offset')]).toEqual([204, String(MiB)]);
    expect((await patch(location, MiB, data.subarray(MiB))).status).toBe(200);
  });
});
