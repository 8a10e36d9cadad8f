import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { pdf } from '../support/payloads.ts';
import { listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { useStowage } from '../support/stowage.ts';

/** Clients that vanish mid-upload, over a real socket (app.inject cannot show this). */
const stowage = useStowage({
  buckets: ['uploads'],
  storages: (buckets) => ({
    uploads: {
      driver: 's3',
      bucket: buckets.uploads ?? '',
      maxFileSize: '100MiB',
      partSize: '5MiB',
      queueSize: 2,
    },
  }),
});

/** Sends the request head and `sendBytes` of a body announced as `totalBytes`, then drops the connection. */
async function abortAfter(
  method: 'PUT' | 'POST',
  path: string,
  headers: Record<string, string>,
  prefix: Buffer,
  sendBytes: number,
  totalBytes: number,
) {
  const { port } = new URL(stowage.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const head = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Content-Length: ${totalBytes}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head);
  socket.write(prefix);
  let sent = prefix.length;
  const chunk = pdf(256 * 1024).subarray(0, 256 * 1024);
  while (sent < sendBytes) {
    const piece = chunk.subarray(0, Math.min(chunk.length, sendBytes - sent));
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
    sent += piece.length;
  }
  // Let the server push a few parts to S3 before the client disappears.
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.destroy();
}

async function eventuallyEmpty(bucket: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [keys, uploads] = await Promise.all([listAllKeys(bucket), listMultipartUploads(bucket)]);
    if ((keys.length === 0 && uploads.length === 0) || Date.now() > deadline) return { keys, uploads };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The log lines written since line `from`, once one of them matches (or after 10 s). */
async function logLinesUntil(from: number, done: (line: string) => boolean): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = stowage.logs.slice(from);
    if (lines.some(done) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('client aborts', () => {
  it('a raw PUT dropped after several S3 parts leaves no object and no multipart upload', async () => {
    await abortAfter(
      'PUT',
      '/v1/storages/uploads/objects/aborted/raw.pdf',
      { 'Content-Type': 'application/pdf' },
      Buffer.alloc(0),
      17 * 2 ** 20,
      60 * 2 ** 20,
    );
    expect(await eventuallyEmpty(stowage.buckets.uploads!)).toEqual({ keys: [], uploads: [] });
  });

  it('a multipart form dropped mid-file leaves nothing either', async () => {
    const boundary = 'AbortBoundary1234';
    const preamble = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
    );
    await abortAfter(
      'POST',
      '/v1/storages/uploads/objects',
      { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      preamble,
      13 * 2 ** 20,
      60 * 2 ** 20,
    );
    expect(await eventuallyEmpty(stowage.buckets.uploads!)).toEqual({ keys: [], uploads: [] });
  });

  it('a client that drops early, before the first part is complete, leaves nothing', async () => {
    await abortAfter(
      'PUT',
      '/v1/storages/uploads/objects/aborted/early.pdf',
      { 'Content-Type': 'application/pdf' },
      Buffer.alloc(0),
      100_000,
      60 * 2 ** 20,
    );
    expect(await eventuallyEmpty(stowage.buckets.uploads!)).toEqual({ keys: [], uploads: [] });
  });

  const earlyBoundary = 'EarlyAbortBoundary5678';
  // Dropped while the parser is mid-form and no file part has started.
  const beforeAnyFile: Array<[string, string]> = [
    ['in the preamble', `--${earlyBoundary}\r\nContent-Dispo`],
    [
      'in a non-file field',
      `--${earlyBoundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhalf a ti`,
    ],
  ];
  for (const [where, sent] of beforeAnyFile)
    it(`a form dropped ${where}, before its first file part, is an info-level CLIENT_CLOSED_REQUEST, not a 500`, async () => {
      const preamble = Buffer.from(sent);
      const seen = stowage.logs.length;
      await abortAfter(
        'POST',
        '/v1/storages/uploads/objects',
        { 'Content-Type': `multipart/form-data; boundary=${earlyBoundary}` },
        preamble,
        preamble.length,
        10_000,
      );
      const lines = await logLinesUntil(seen, (line) => /CLIENT_CLOSED_REQUEST|INTERNAL_ERROR/.test(line));
      expect(lines.filter((line) => /INTERNAL_ERROR|"status":500|"statusCode":500/.test(line))).toEqual([]);
      const closed = lines.map((line) => JSON.parse(line) as { level: number; code?: string });
      expect(
        closed.filter((line) => line.code === 'CLIENT_CLOSED_REQUEST').map((line) => line.level),
      ).toEqual([30]);
      expect(await eventuallyEmpty(stowage.buckets.uploads!)).toEqual({ keys: [], uploads: [] });
    });

  it('the server keeps serving afterwards', async () => {
    const response = await fetch(`${stowage.url}/v1/storages/uploads/objects/after.pdf`, {
      method: 'PUT',
      body: pdf(1000),
      headers: { 'content-type': 'application/pdf' },
    });
    expect(response.status).toBe(201);
    expect((await fetch(`${stowage.url}/healthz`)).status).toBe(200);
  });
});
