import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { form, pdf } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * S3 unreachable, silent, or refusing our credentials: clear 5xx codes within the configured
 * deadlines, never a hang, and readiness says which storage is broken.
 */
let silent: Server;
const silentSockets = new Set<Socket>();
let silentPort = 0;
let closedPort = 0;

beforeAll(async () => {
  // A TCP server that accepts connections and never answers: a stalled S3.
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
  // A port nothing listens on: an S3 that is down.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const stowage = useStowage({
  // denied gets a bucket of its own: storages may not share keys (the config refuses it).
  buckets: ['good', 'denied'],
  storages: (buckets) => ({
    good: { driver: 's3', bucket: buckets.good ?? '' },
    down: {
      driver: 's3',
      bucket: 'down-bucket',
      s3: { endpoint: `http://127.0.0.1:${closedPort}`, maxAttempts: 1 },
    },
    stalled: {
      driver: 's3',
      bucket: 'stalled-bucket',
      s3: { endpoint: `http://127.0.0.1:${silentPort}`, requestTimeout: '1s', maxAttempts: 1 },
    },
    denied: {
      driver: 's3',
      bucket: buckets.denied ?? '',
      s3: {
        credentials: {
          accessKeyId: inject('s3').accessKeyId,
          secretAccessKey: 'definitely-not-the-secret-0000000000',
        },
      },
    },
  }),
});

const code = async (response: Response) =>
  ((await response.json()) as { error: { code: string } }).error.code;

describe('when S3 fails', () => {
  it('an unreachable S3 is 503 STORAGE_UNAVAILABLE with Retry-After, quickly', async () => {
    const started = Date.now();
    const upload = await fetch(`${stowage.url}/v1/storages/down/objects`, {
      method: 'POST',
      body: form({ name: 'a.pdf', type: 'application/pdf', data: pdf(1000) }),
    });
    expect(upload.status).toBe(503);
    expect(upload.headers.get('retry-after')).toBeTruthy();
    expect(await code(upload)).toBe('STORAGE_UNAVAILABLE');
    const read = await fetch(`${stowage.url}/v1/storages/down/objects/a.pdf`);
    expect(read.status).toBe(503);
    await read.arrayBuffer();
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a stalled S3 is 504 STORAGE_TIMEOUT, not a hang', async () => {
    const read = await fetch(`${stowage.url}/v1/storages/stalled/objects/a.pdf`);
    expect(read.status).toBe(504);
    expect(await code(read)).toBe('STORAGE_TIMEOUT');
  });

  it('refused credentials are 502 STORAGE_ERROR, without the bucket name or the S3 message', async () => {
    const response = await fetch(`${stowage.url}/v1/storages/denied/objects/x.pdf`, {
      method: 'PUT',
      body: pdf(100),
      headers: { 'content-type': 'application/pdf' },
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('STORAGE_ERROR');
    expect(JSON.stringify(body)).not.toContain(stowage.buckets.denied);
  });

  it('/readyz is 503 and names each broken storage, /healthz stays 200', async () => {
    const ready = await fetch(`${stowage.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as {
      status: string;
      storages: Record<string, { status: string; code?: string }>;
    };
    expect(body.status).toBe('error');
    expect(body.storages.good?.status).toBe('ok');
    expect(body.storages.down).toMatchObject({ status: 'error', code: 'STORAGE_UNAVAILABLE' });
    expect(body.storages.stalled?.status).toBe('error');
    expect(body.storages.denied).toMatchObject({ status: 'error', code: 'STORAGE_ERROR' });
    expect((await fetch(`${stowage.url}/healthz`)).status).toBe(200);
  });

  it('the healthy storage keeps working next to the broken ones', async () => {
    const response = await fetch(`${stowage.url}/v1/storages/good/objects`, {
      method: 'POST',
      body: form({ name: 'ok.pdf', type: 'application/pdf', data: pdf(1000) }),
    });
    expect(response.status).toBe(201);
  });
});
