import { describe, expect, it } from 'vitest';
import { png, sha256 } from '../support/payloads.ts';
import { type S3Exchange, useS3Interceptor } from '../support/s3-interceptor.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Issue 14's figures: tus-js-client sends a chunk only once the previous one is answered, so every S3
 * request a PATCH makes in series is paid once per chunk (bench/README "Resumable uploads (tus)").
 * Counted here through a proxy in front of Ceph (s3-interceptor.ts): a PATCH in the middle of an
 * upload asks for no more than the lease (take and release, one request each), the state (the
 * reservation's HEAD, ListMultipartUploads, ListParts, the tails' listing) and its parts, and never
 * sends a write S3 refuses (Ceph 16's 412 on a quoted If-Match, or a lease take that fails first).
 * A count, not a time: lease renewals (one per third of the lease's TTL while a PATCH runs) depend
 * on how fast this machine is, so they are counted apart.
 */
const MiB = 2 ** 20;
const s3 = useS3Interceptor();
const stowage = useStowage({
  buckets: ['trips'],
  storages: (buckets) => ({
    trips: {
      driver: 's3',
      bucket: buckets.trips ?? '',
      partSize: '5MiB',
      maxFileSize: '64MiB',
      s3: { endpoint: s3.url },
    },
  }),
});
const TUS = { 'tus-resumable': '1.0.0' };

/** What one request was, for a readable failure (path-style: /bucket/key?query). */
function operation({ method, url }: S3Exchange): string {
  const lease = /\/lease(\?|$)/.test(url);
  if (method === 'PUT' && lease) return 'lease write';
  if (method === 'PUT' && /[?&]uploadId=/.test(url)) return 'UploadPart';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'GET' && /[?&]uploads/.test(url)) return 'ListMultipartUploads';
  if (method === 'GET' && /[?&]uploadId=/.test(url)) return 'ListParts';
  if (method === 'GET' && /[?&]list-type=2/.test(url)) return 'ListObjectsV2';
  return `${method} ${url}`;
}

async function patch(location: string, offset: number, body: Buffer) {
  const answer = await fetch(location, {
    method: 'PATCH',
    headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
    body,
  });
  return { status: answer.status, offset: answer.headers.get('upload-offset') };
}

describe('S3 requests per tus PATCH', () => {
  it('a PATCH of two whole parts mid-upload: at most 8 requests in all, none refused', async () => {
    const chunk = 10 * MiB; // two 5 MiB parts
    const data = png(4 * chunk);
    const created = await fetch(`${stowage.url}/v1/storages/trips/uploads`, {
      method: 'POST',
      headers: { ...TUS, 'upload-length': String(data.length) },
    });
    const location = created.headers.get('location') ?? '';
    // The first PATCH finds no lease yet, the last completes: the two in the middle are the steady state.
    for (let index = 0; index < 4; index++) {
      s3.reset();
      const offset = index * chunk;
      expect(await patch(location, offset, data.subarray(offset, offset + chunk))).toMatchObject({
        status: index === 3 ? 200 : 204,
      });
      if (index === 0 || index === 3) continue;
      const operations = s3.exchanges.map(operation);
      const leaseWrites = operations.filter((one) => one === 'lease write').length;
      const renewals = Math.max(0, leaseWrites - 2);
      expect(
        s3.exchanges.filter((one) => one.status >= 400),
        `refused: ${operations.join(', ')}`,
      ).toEqual([]);
      expect(operations.length - renewals, operations.join(', ')).toBeLessThanOrEqual(8);
      expect(operations.filter((one) => one === 'UploadPart')).toHaveLength(2);
    }
    const stored = await fetch(location);
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(data));
  });
});
