import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { sampleValue, scrapeMetrics } from '../support/exposition.ts';
import { slowUpload } from '../support/slow-upload.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Upload admission over real sockets, against real S3: the upload memory budget as a pool of part
 * buffers (uploads wait for one, 503 + Retry-After only past the wait; the pool's use read from
 * /metrics), per-storage and per-principal concurrency caps, and the per-upload deadline — each leaving
 * nothing stored.
 */
const waitFor = async (condition: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

/**
 * A PUT (Content-Length) or a one-file form of `size` bytes, its body written from a 64 KiB pattern of
 * its own so 64 of them never sit in this process's memory at once; resolves with the answer and the
 * SHA-256 of the file's bytes.
 */
function patternUpload(
  baseUrl: string,
  storage: string,
  kind: 'put' | 'form',
  name: string,
  size: number,
): Promise<{
  status: number;
  body: { key?: string; objects?: Array<{ key: string }>; error?: { code: string } };
  sha256: string;
}> {
  const pattern = randomBytes(64 * 1024);
  const hash = createHash('sha256');
  const boundary = `----stowage${randomBytes(8).toString('hex')}`;
  const head =
    kind === 'form'
      ? Buffer.from(
          `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\n` +
            'content-type: application/octet-stream\r\n\r\n',
        )
      : Buffer.alloc(0);
  const tail = kind === 'form' ? Buffer.from(`\r\n--${boundary}--\r\n`) : Buffer.alloc(0);
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({
      hostname,
      port,
      method: kind === 'form' ? 'POST' : 'PUT',
      path: kind === 'form' ? `/v1/storages/${storage}/objects` : `/v1/storages/${storage}/objects/${name}`,
      headers: {
        'content-type':
          kind === 'form' ? `multipart/form-data; boundary=${boundary}` : 'application/octet-stream',
        'content-length': String(head.length + size + tail.length),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString() || '{}'),
          sha256: hash.digest('hex'),
        }),
      );
    });
    void (async () => {
      req.write(head);
      for (let sent = 0; sent < size && !req.destroyed; ) {
        const piece = pattern.subarray(0, Math.min(pattern.length, size - sent));
        hash.update(piece);
        sent += piece.length;
        if (!req.write(piece)) await new Promise((drained) => req.once('drain', drained));
      }
      req.end(tail);
    })();
  });
}

const MiB = 2 ** 20;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('upload memory budget: a pool of part buffers shared by every upload', () => {
  // Four 5 MiB part buffers for 64 uploads of two parts each, with the default wait (60 s).
  const stowage = useStowage({
    buckets: ['pooled'],
    storages: (buckets) => ({
      pooled: { driver: 's3', bucket: buckets.pooled ?? '', partSize: '5MiB', queueSize: 4 },
    }),
    config: { limits: { uploadMemory: '20MiB' } },
  });

  it('64 concurrent uploads through 4 buffers: all stored byte for byte, the pool never past its size', async () => {
    let mostWaiting = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        mostWaiting = Math.max(
          mostWaiting,
          sampleValue(await scrapeMetrics(stowage.url), 'stowage_uploads_waiting'),
        );
        await pause(50);
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, n) =>
        patternUpload(
          stowage.url,
          'pooled',
          n % 2 === 0 ? 'put' : 'form',
          `file-${n}.bin`,
          6 * MiB + n * 1000,
        ),
      ),
    );
    sampling = false;
    await sampler;
    const outcomes = answers.map((answer) =>
      answer.status === 201 ? 201 : `${answer.status} ${JSON.stringify(answer.body)}`,
    );
    expect(outcomes).toEqual(Array(64).fill(201));
    for (const answer of answers) {
      const key = answer.body.key ?? answer.body.objects?.[0]?.key ?? '';
      const stored = await stowage.backend('pooled').object(key);
      expect(createHash('sha256').update(stored.body).digest('hex'), key).toBe(answer.sha256);
    }
    const samples = await scrapeMetrics(stowage.url);
    const capacity = sampleValue(samples, 'stowage_upload_buffer_capacity_bytes');
    expect(capacity).toBe(20 * MiB);
    // Uploads queued for buffers, and the buffers were all in use at once, never more.
    expect(mostWaiting).toBeGreaterThan(0);
    expect(sampleValue(samples, 'stowage_upload_buffer_peak_bytes')).toBe(capacity);
    expect(sampleValue(samples, 'stowage_upload_buffer_bytes')).toBeLessThanOrEqual(capacity);
    expect(sampleValue(samples, 'stowage_upload_buffer_lent_bytes')).toBe(0);
    expect(sampleValue(samples, 'stowage_uploads_waiting')).toBe(0);
    expect(await stowage.backend('pooled').leftovers()).toEqual([]);
  });
});

describe('upload memory budget exhausted past the wait', () => {
  // One 5 MiB part buffer; a new upload waits 500 ms for it.
  const stowage = useStowage({
    buckets: ['tight'],
    storages: (buckets) => ({
      tight: { driver: 's3', bucket: buckets.tight ?? '', partSize: '5MiB', queueSize: 2 },
    }),
    config: { limits: { uploadMemory: '5MiB', uploadQueueTimeout: '500ms' } },
  });

  it('answers 503 + Retry-After without reading the body, stores nothing, and the running upload goes on', async () => {
    // Bodies of unknown length, which need a part buffer: one of known length would stream (no buffer).
    const chunked = { 'transfer-encoding': 'chunked' };
    const holder = slowUpload(stowage.url, '/v1/storages/tight/objects/holder.bin', 8 * MiB, chunked);
    await holder.send(MiB); // inside its first part buffer, which it keeps until it is done
    await pause(200);
    const refused = slowUpload(stowage.url, '/v1/storages/tight/objects/refused.bin', 8 * MiB, chunked);
    await refused.send(64 * 1024);
    await pause(100);
    expect(sampleValue(await scrapeMetrics(stowage.url), 'stowage_uploads_waiting')).toBe(1);
    // Answered with almost all of its body still unsent: the server never needed it.
    const answer = await refused.response;
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('SERVICE_UNAVAILABLE');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    refused.abort();
    holder.finish();
    expect((await holder.response).status).toBe(201);
    expect(await stowage.backend('tight').keys()).toEqual(['holder.bin']);
    expect(await stowage.backend('tight').leftovers()).toEqual([]);
    // Room again: the next upload is admitted.
    const next = slowUpload(stowage.url, '/v1/storages/tight/objects/next.bin', 1000);
    next.finish();
    expect((await next.response).status).toBe(201);
  });
});

describe('concurrency caps', () => {
  const stowage = useStowage({
    storages: () => ({ capped: { driver: 'local', maxConcurrentUploads: 1 }, open: { driver: 'local' } }),
    config: { limits: { uploadsPerPrincipal: 2 } },
  });

  it('a storage at its cap refuses with 503; other storages are not affected', async () => {
    const running = slowUpload(stowage.url, '/v1/storages/capped/objects/one.bin', 10_000);
    await running.send(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = slowUpload(stowage.url, '/v1/storages/capped/objects/two.bin', 10);
    refused.finish();
    expect((await refused.response).status).toBe(503);
    const elsewhere = slowUpload(stowage.url, '/v1/storages/open/objects/x.bin', 10);
    elsewhere.finish();
    expect((await elsewhere.response).status).toBe(201);
    running.finish();
    expect((await running.response).status).toBe(201);
  });

  it('one principal past its cap gets 429', async () => {
    const held = [1, 2].map((n) =>
      slowUpload(stowage.url, `/v1/storages/open/objects/held-${n}.bin`, 10_000),
    );
    for (const upload of held) await upload.send(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = slowUpload(stowage.url, '/v1/storages/open/objects/held-3.bin', 10);
    third.finish();
    const refused = await third.response;
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('TOO_MANY_REQUESTS');
    for (const upload of held) upload.finish();
    for (const upload of held) expect((await upload.response).status).toBe(201);
  });
});

describe('per-upload deadline', () => {
  const stowage = useStowage({
    buckets: ['slow'],
    storages: (buckets) => ({
      disk: { driver: 'local' },
      bucket: { driver: 's3', bucket: buckets.slow ?? '', partSize: '5MiB', queueSize: 1 },
    }),
    config: { server: { requestTimeout: '2s' } },
  });

  it('an upload still running at its deadline is aborted with a JSON 408 and leaves nothing', async () => {
    for (const storage of ['disk', 'bucket']) {
      const stalled = slowUpload(stowage.url, `/v1/storages/${storage}/objects/stalled.bin`, 50 * 2 ** 20);
      await stalled.send(7 * 2 ** 20); // past one S3 part: a multipart upload is in progress
      const answer = await stalled.response;
      expect(answer.status, storage).toBe(408);
      expect(answer.body.error?.code).toBe('REQUEST_TIMEOUT');
      stalled.abort();
      await waitFor(() => false, 200);
      expect(await stowage.backend(storage).keys()).toEqual([]);
      expect(await stowage.backend(storage).leftovers()).toEqual([]);
    }
  });
});
