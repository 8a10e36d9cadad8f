import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  listAllKeys,
  listMultipartUploads,
} from '../support/s3-admin.ts';
import { slowUpload } from '../support/slow-upload.ts';

/**
 * SIGTERM with 20 uploads in flight, on the real process (src/server.ts): readiness turns false at
 * once, new uploads get 503, uploads that finish within the grace period are stored, the rest are
 * aborted cleanly (no object, no multipart upload), and the process exits 0.
 */
const MiB = 2 ** 20;
let bucket = '';
let server: ChildProcess;
let base = '';
let exitCode: Promise<number | null>;

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const s3 = inject('s3');
  bucket = await createTestBucket(s3, 'drain');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const configPath = join(tmpdir(), `stowage-drain-${process.pid}.json`);
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port, shutdownGrace: '3s', logLevel: 'warn' },
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      },
      auth: { anonymousGrants: ['*:*'] },
      storages: { up: { driver: 's3', bucket, maxFileSize: '100MiB', partSize: '5MiB', queueSize: 1 } },
    }),
  );
  server = spawn(process.execPath, ['src/server.ts'], {
    env: { ...process.env, STOWAGE_CONFIG: configPath },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  exitCode = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await fetch(`${base}/healthz`)
        .then((response) => response.ok)
        .catch(() => false)
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not start');
});

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGKILL');
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

    server.kill('SIGTERM');
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
    for (const upload of stalled) upload.abort();

    expect(await exitCode).toBe(0);
    const keys = await listAllKeys(bucket);
    expect(keys.sort()).toEqual(Array.from({ length: 10 }, (_, n) => `done-${n}.bin`).sort());
    expect(await listMultipartUploads(bucket)).toEqual([]);
  });
});
