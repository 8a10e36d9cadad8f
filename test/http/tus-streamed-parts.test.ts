import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { contents, s3Backend } from '../support/backend.ts';
import { pdf, png, sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * tus PATCH bodies of known length stream their whole parts to S3 as they arrive, unsigned or in
 * signed chunks (signed payloads, chunk-signed-payload.ts):
 * seen on the wire by a TCP proxy in front of Ceph, an UploadPart starts while the client is still
 * holding back most of that part's bytes — the buffered path sends none before a part is complete.
 * A part that S3 loses midway is not counted: the upload resumes from the last whole part. Bytes short
 * of a part still go through tails, merged into the next part.
 */
const MiB = 2 ** 20;
const proxy = useS3Proxy();
const profile = (bucket: string | undefined, signPayload: boolean, extra: Record<string, unknown> = {}) => ({
  driver: 's3' as const,
  bucket: bucket ?? '',
  partSize: '5MiB',
  maxFileSize: '64MiB',
  s3: { endpoint: proxy.url, signPayload, maxAttempts: 1, requestTimeout: '5s' },
  ...extra,
});
const stowage = useStowage({
  buckets: ['unsigned', 'signed', 'typed'],
  storages: (buckets) => ({
    unsigned: profile(buckets.unsigned, false),
    signed: profile(buckets.signed, true),
    typed: profile(buckets.typed, true, { allowedTypes: ['image/png'] }),
  }),
});
const TUS = { 'tus-resumable': '1.0.0' };
const PATCH_HEADERS = { ...TUS, 'content-type': 'application/offset+octet-stream' };

async function create(storage: string, length: number): Promise<string> {
  const answer = await fetch(`${stowage.url}/v1/storages/${storage}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(length) },
  });
  expect(answer.status).toBe(201);
  return answer.headers.get('location') ?? '';
}

const offsetOf = async (location: string) =>
  Number((await fetch(location, { method: 'HEAD', headers: TUS })).headers.get('upload-offset'));

/** A PATCH, retried while the lease of a request S3 let down still blocks it (423). */
async function patch(location: string, offset: number, body: Buffer) {
  for (let attempt = 0; ; attempt++) {
    const answer = await fetch(location, {
      method: 'PATCH',
      headers: { ...PATCH_HEADERS, 'upload-offset': String(offset) },
      body,
    });
    if (answer.status !== 423 || attempt >= 20)
      return { status: answer.status, offset: answer.headers.get('upload-offset') };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Resolves once a request for UploadPart `partNumber` has gone up to S3, with its
 * `x-amz-content-sha256` (how its body is signed).
 */
function uploadPartStarts(partNumber: number): { started: Promise<string | undefined>; stop: () => void } {
  let stop = () => {};
  const started = new Promise<string | undefined>((resolve) => {
    const line = new RegExp(`^PUT [^ ]*[?&]partNumber=${partNumber}(&| )`, 'm');
    // A head cut across two reads is joined before it is read.
    let pending = '';
    stop = proxy.watchUp((data) => {
      const text = pending + data.toString('latin1');
      pending = '';
      const start = line.exec(text)?.index;
      if (start === undefined) return;
      const end = text.indexOf('\r\n\r\n', start);
      if (end < 0) pending = text.slice(start);
      else resolve(/^x-amz-content-sha256: *(\S+)/im.exec(text.slice(start, end))?.[1]);
    });
  });
  return { started, stop };
}

/** How each storage's streamed parts are sent: unsigned, or in signed chunks. */
const PAYLOAD = { unsigned: 'UNSIGNED-PAYLOAD', signed: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } as const;

describe.each(['unsigned', 'signed'] as const)(
  'tus PATCH bodies stream their whole parts to S3 (%s)',
  (storage) => {
    it('an UploadPart starts before the client has sent its part; tails merge; bytes intact', async () => {
      const data = png(13 * MiB);
      const location = await create(storage, data.length);
      // The first PATCH: 7 MiB, held back after 2 MiB until part 1 is on its way to S3.
      const first = uploadPartStarts(1);
      const answered = new Promise<{ status: number; offset: string | undefined }>((resolve, reject) => {
        const { hostname, port, pathname } = new URL(location);
        const sending = request(
          {
            host: hostname,
            port,
            path: pathname,
            method: 'PATCH',
            headers: { ...PATCH_HEADERS, 'upload-offset': '0', 'content-length': String(7 * MiB) },
          },
          (answer) => {
            answer.resume();
            answer.once('end', () =>
              resolve({ status: answer.statusCode ?? 0, offset: answer.headers['upload-offset'] as string }),
            );
          },
        );
        sending.once('error', reject);
        sending.write(data.subarray(0, 2 * MiB));
        const timeout = setTimeout(
          () => reject(new Error('no UploadPart began within 10 s of 2 MiB')),
          10_000,
        );
        void first.started.then(() => {
          clearTimeout(timeout);
          sending.end(data.subarray(2 * MiB, 7 * MiB));
        });
      });
      try {
        // Part 1 streamed, the 2 MiB past it kept as a tail.
        expect(await answered).toEqual({ status: 204, offset: String(7 * MiB) });
        expect(await first.started).toBe(PAYLOAD[storage]);
      } finally {
        first.stop();
      }
      // The second PATCH: the tail and 3 MiB make part 2 (buffered), the last 3 MiB are part 3 (streamed).
      expect(await patch(location, 7 * MiB, data.subarray(7 * MiB))).toEqual({
        status: 200,
        offset: String(13 * MiB),
      });
      const stored = await fetch(location);
      expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(data));
      const left = await contents(s3Backend(stowage.buckets[storage] ?? '', stowage.s3));
      expect(left.leftovers).toEqual([]);
    });

    it('a part S3 loses midway is not counted: the upload resumes from the last whole part', async () => {
      const data = png(15 * MiB);
      const location = await create(storage, data.length);
      expect(await patch(location, 0, data.subarray(0, 5 * MiB))).toEqual({
        status: 204,
        offset: String(5 * MiB),
      });
      // Every connection to S3 dies 2 MiB up: past the small requests, in the middle of part 2.
      await proxy.setMode({ cutAfter: 2 * MiB, direction: 'up' });
      const failed = await patch(location, 5 * MiB, data.subarray(5 * MiB)).catch(() => ({ status: 0 }));
      await proxy.setMode('pass');
      expect(failed.status === 0 || failed.status >= 500, `answered ${failed.status}`).toBe(true);
      expect(await offsetOf(location)).toBe(5 * MiB);
      expect(await patch(location, 5 * MiB, data.subarray(5 * MiB))).toEqual({
        status: 200,
        offset: String(15 * MiB),
      });
      const stored = await fetch(location);
      expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(data));
    });
  },
);

describe('tus PATCH bodies of a refused type', () => {
  it('a refused type is refused before the first streamed part: 415, nothing stored', async () => {
    const location = await create('typed', 6 * MiB);
    expect(await patch(location, 0, pdf(6 * MiB))).toMatchObject({ status: 415 });
    expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
    expect(await contents(s3Backend(stowage.buckets.typed ?? '', stowage.s3))).toEqual({
      keys: [],
      leftovers: [],
    });
  });
});
