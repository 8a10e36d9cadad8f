import type { IncomingMessage } from 'node:http';
import * as tus from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import { png, sha256 } from '../support/payloads.ts';
import { useS3Interceptor } from '../support/s3-interceptor.ts';
import { useStowage } from '../support/stowage.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * Issue 14, point 2: tus-js-client starts a new upload from byte 0 on any HEAD error but 423. So when
 * S3 fails for a moment while HEAD reads where an upload stands (the reservation, the multipart
 * upload's parts, the tail), HEAD must answer 423 with Retry-After — never 404, 5xx or a wrong offset
 * — and the next HEAD, once S3 answers, the offset it had. The failures are played by an HTTP proxy
 * between Stowage and Ceph (s3-interceptor.ts) that answers matching S3 requests itself, every
 * attempt of the SDK's retries included.
 */
const MiB = 2 ** 20;
const s3 = useS3Interceptor();
// Connections that break or hang (a TCP proxy), for a storage of its own on another bucket.
const network = useS3Proxy();
const stowage = useStowage({
  buckets: ['tus', 'cut'],
  storages: (buckets) => ({
    tus: {
      driver: 's3',
      bucket: buckets.tus ?? '',
      partSize: '5MiB',
      maxFileSize: '64MiB',
      s3: { endpoint: s3.url },
    },
    cut: {
      driver: 's3',
      bucket: buckets.cut ?? '',
      partSize: '5MiB',
      maxFileSize: '64MiB',
      // A hung S3 fails in seconds rather than the default 30 s.
      s3: { endpoint: network.url, requestTimeout: '2s' },
    },
  }),
});
const TUS = { 'tus-resumable': '1.0.0' };

/** An upload with one part and a 1 MiB tail in S3: offset 6 MiB. */
async function halfDone(data: Buffer, storage = 'tus'): Promise<string> {
  const created = await fetch(`${stowage.url}/v1/storages/${storage}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(data.length) },
  });
  const location = created.headers.get('location') ?? '';
  const patched = await fetch(location, {
    method: 'PATCH',
    headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
    body: data.subarray(0, 6 * MiB),
  });
  expect([patched.status, patched.headers.get('upload-offset')]).toEqual([204, String(6 * MiB)]);
  return location;
}

const head = async (location: string) => {
  const answer = await fetch(location, { method: 'HEAD', headers: TUS });
  return {
    status: answer.status,
    offset: answer.headers.get('upload-offset'),
    retryAfter: answer.headers.get('retry-after'),
  };
};

/** The S3 requests HEAD on an upload makes (path-style: /bucket/key?query). */
const s3Requests: Record<string, (request: IncomingMessage) => boolean> = {
  'HeadObject of the reservation': (request) => request.method === 'HEAD',
  'ListMultipartUploads of the key': (request) =>
    request.method === 'GET' && /[?&]uploads/.test(request.url ?? ''),
  'ListParts of the multipart upload': (request) =>
    request.method === 'GET' && /[?&]uploadId=/.test(request.url ?? ''),
  'ListObjectsV2 of the tails': (request) =>
    request.method === 'GET' && /[?&]list-type=2/.test(request.url ?? ''),
};
const failures: Array<[status: number, code: string]> = [
  [503, 'SlowDown'],
  [500, 'InternalError'],
];

describe('HEAD on a tus upload while S3 fails for a moment', () => {
  for (const [operation, match] of Object.entries(s3Requests)) {
    for (const [status, code] of failures) {
      it(`${operation} answers ${status} ${code}: 423 with Retry-After, then the right offset`, async () => {
        const data = png(8 * MiB);
        const location = await halfDone(data);
        s3.refuse(match, status, code);
        try {
          expect(await head(location)).toEqual({ status: 423, offset: null, retryAfter: '1' });
        } finally {
          s3.refuse(undefined);
        }
        expect(await head(location)).toMatchObject({ status: 200, offset: String(6 * MiB) });
      });
    }
  }

  for (const mode of ['reset', 'stall'] as const) {
    it(`S3 connections ${mode === 'reset' ? 'reset' : 'hang'}: 423 with Retry-After, then the right offset`, async () => {
      const data = png(8 * MiB);
      const location = await halfDone(data, 'cut');
      await network.setMode(mode);
      try {
        expect(await head(location)).toEqual({ status: 423, offset: null, retryAfter: '1' });
      } finally {
        await network.setMode('pass');
      }
      expect(await head(location)).toMatchObject({ status: 200, offset: String(6 * MiB) });
    });
  }

  it('PATCH meanwhile is 423 too (its offset check reads the same state), and nothing it sent is kept', async () => {
    const data = png(8 * MiB);
    const location = await halfDone(data);
    s3.refuse(s3Requests['ListParts of the multipart upload'], 503, 'SlowDown');
    let answer: Response;
    try {
      answer = await fetch(location, {
        method: 'PATCH',
        headers: {
          ...TUS,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(6 * MiB),
        },
        body: data.subarray(6 * MiB),
      });
    } finally {
      s3.refuse(undefined);
    }
    expect(answer.status).toBe(423);
    expect(await head(location)).toMatchObject({ status: 200, offset: String(6 * MiB) });
  });

  it('tus-js-client resuming through failed HEADs retries them and continues the same upload', async () => {
    const data = png(8 * MiB);
    const location = await halfDone(data);
    // The first two HEADs Stowage makes (each tried three times by the SDK) fail.
    let refused = 0;
    s3.refuse((request) => request.method === 'HEAD' && refused++ < 6, 503, 'SlowDown');
    const progress: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(data, {
          uploadUrl: location,
          // A POST would mean it gave up on the upload: it would fail, since this storage is not there.
          endpoint: `${stowage.url}/v1/storages/no-such-storage/uploads`,
          chunkSize: MiB,
          retryDelays: [0, 200, 500, 1000, 2000],
          onProgress: (sent) => progress.push(sent),
          onSuccess: () => resolve(),
          onError: reject,
        });
        upload.start();
      });
    } finally {
      s3.refuse(undefined);
    }
    expect(refused).toBeGreaterThanOrEqual(6);
    expect(progress[0]).toBeGreaterThanOrEqual(6 * MiB);
    const stored = await fetch(location);
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(data));
  });
});
