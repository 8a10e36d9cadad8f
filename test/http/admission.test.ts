import { describe, expect, it } from 'vitest';
import { slowUpload } from '../support/slow-upload.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Upload admission over real sockets: the global memory budget (wait briefly, then 503 +
 * Retry-After), per-storage and per-principal concurrency caps, and the per-upload deadline — each
 * leaving nothing stored.
 */
const waitFor = async (condition: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('global upload memory budget', () => {
  // Local uploads reserve 1 MiB each: a 2 MiB budget admits two at a time.
  const stowage = useStowage({
    storages: () => ({ files: { driver: 'local', maxFileSize: '50MiB' } }),
    config: { limits: { uploadMemory: '2MiB', uploadQueueTimeout: '300ms' } },
  });

  it('admits what fits, refuses the rest with 503 + Retry-After, and admits again once memory is free', async () => {
    // Each reserves min(its Content-Length, 1 MiB): these two take the whole budget.
    const first = slowUpload(stowage.url, '/v1/storages/files/objects/a.bin', 2 ** 20);
    const second = slowUpload(stowage.url, '/v1/storages/files/objects/b.bin', 2 ** 20);
    await first.send(100_000);
    await second.send(100_000);
    // Both are inside the route (their first bytes are being written) before the third arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const third = slowUpload(stowage.url, '/v1/storages/files/objects/c.bin', 1000);
    // Even 1000 bytes do not fit in a spent budget.
    third.finish();
    const refused = await third.response;
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.headers['retry-after']).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // it waited for memory before giving up

    // A waiting upload gets in as soon as a running one finishes.
    const fourth = slowUpload(stowage.url, '/v1/storages/files/objects/d.bin', 1000);
    fourth.finish();
    first.finish();
    expect((await first.response).status).toBe(201);
    expect((await fourth.response).status).toBe(201);
    second.finish();
    expect((await second.response).status).toBe(201);
    expect(await stowage.backend('files').keys()).toEqual(['a.bin', 'b.bin', 'd.bin']);
  });

  it('a small upload reserves only its size: many run beside one that holds most of the budget', async () => {
    const big = slowUpload(stowage.url, '/v1/storages/files/objects/big.bin', 2 ** 20);
    await big.send(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const small = Array.from({ length: 8 }, (_, n) =>
      slowUpload(stowage.url, `/v1/storages/files/objects/small-${n}.bin`, 10_000),
    );
    for (const upload of small) upload.finish();
    expect(
      (await Promise.all(small.map((upload) => upload.response))).map((answer) => answer.status),
    ).toEqual(Array(8).fill(201));
    big.finish();
    expect((await big.response).status).toBe(201);
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
