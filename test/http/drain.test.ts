import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  listAllKeys,
  listMultipartUploads,
} from '../support/s3-admin.ts';
import { slowUpload } from '../support/slow-upload.ts';
import { type StowageProcess, s3Connection, startStowageProcess } from '../support/stowage-process.ts';

/**
 * SIGTERM with 20 uploads in flight, on the real process (src/server.ts): readiness turns false at
 * once, new uploads get 503, uploads that finish within the grace period are stored, the rest are
 * aborted cleanly (no object, no multipart upload), and the process exits 0 — without waiting for
 * clients that keep sending after their 503 (`docker stop -t 30` with the default 25 s grace).
 */
const MiB = 2 ** 20;
const LABEL = 'drain';
let bucket = '';
let server: StowageProcess;
let base = '';

beforeAll(async () => {
  const s3 = inject('s3');
  bucket = await createTestBucket(s3, LABEL);
  // The config file (it holds the S3 secret) is written by startStowageProcess and removed by kill().
  server = await startStowageProcess(
    {
      server: { shutdownGrace: '3s', logLevel: 'warn' },
      s3: s3Connection(s3),
      auth: { anonymousGrants: ['*:*'] },
      storages: { up: { driver: 's3', bucket, maxFileSize: '100MiB', partSize: '5MiB', queueSize: 1 } },
    },
    { label: LABEL },
  );
  base = server.url;
});

afterAll(async () => {
  await server?.kill();
  await emptyAndDeleteBucket(bucket);
});

describe('graceful drain on SIGTERM', () => {
  it('finishes what can finish, aborts the rest cleanly, refuses new uploads, exits 0', async () => {
    const finishing = Array.from({ length: 10 }, (_, n) =>
      slowUpload(base, `/v1/storages/up/objects/done-${n}.bin`, 2 * MiB),
    );
    const stalled = Array.from({ length: 10 }, (_, n) =>
      slowUpload(base, `/v1/storages/up/objects/stalled-${n}.bin`, 60 * MiB),
    );
    await Promise.all(finishing.map((upload) => upload.send(MiB)));
    // Past one 5 MiB part: each stalled upload has a multipart upload open in S3.
    await Promise.all(stalled.map((upload) => upload.send(7 * MiB)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const terminated = Date.now();
    process.kill(server.pid, 'SIGTERM');
    // The stalled clients go on sending, and keep at it after their answer (as a browser's upload
    // does until it reads the response): that must not hold the process past its grace period.
    for (const upload of stalled) void upload.send(40 * MiB);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    const late = slowUpload(base, '/v1/storages/up/objects/late.bin', 100);
    late.finish();
    const refused = await late.response;
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('SERVICE_UNAVAILABLE');

    for (const upload of finishing) upload.finish();
    const finished = await Promise.all(finishing.map((upload) => upload.response));
    expect(finished.map((answer) => answer.status)).toEqual(Array(10).fill(201));

    const aborted = await Promise.all(stalled.map((upload) => upload.response));
    // Answered with a JSON 503, or (if the socket went first) cut: never stored either way.
    for (const answer of aborted) expect([503, 0]).toContain(answer.status);
    expect(aborted.filter((answer) => answer.status === 503).length).toBeGreaterThan(0);
    expect(await server.exited).toBe(0);
    // Within shutdownGrace (3 s) plus the aborted uploads' cleanup: an aborted upload's connection is
    // closed with its answer, not held open while its client keeps sending (that took 5 s more).
    expect(Date.now() - terminated).toBeLessThan(3000 + 2500);
    for (const upload of stalled) upload.abort();
    const keys = await listAllKeys(bucket);
    expect(keys.sort()).toEqual(Array.from({ length: 10 }, (_, n) => `done-${n}.bin`).sort());
    expect(await listMultipartUploads(bucket)).toEqual([]);
  });

  it('leaves no config file (it holds the S3 secret) in the temp directory', async () => {
    await server.kill();
    const left = (await readdir(tmpdir())).filter((name) =>
      name.startsWith(`stowage-${LABEL}-${process.pid}`),
    );
    expect(left).toEqual([]);
  });
});
