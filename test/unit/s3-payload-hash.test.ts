import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import { createS3Driver } from '../../src/storage/drivers/s3/driver.ts';
import { Meter } from '../../src/storage/meter.ts';
import { PartPool } from '../../src/storage/part-pool.ts';
import { sha256 } from '../support/payloads.ts';

/**
 * One SHA-256 pass where one is enough (issue 16 point 4): a body sent to S3 as one PutObject is
 * signed with the digest the caller already made (the receipt's Meter, PutInput.sha256), on the
 * quick path and through the SDK alike, instead of being hashed again. Shown with a digest that is
 * NOT the body's: a driver that hashed the body itself would send the real one. (S3 would refuse such
 * a request; the server here records what arrives and answers 200. That the digest handed down is the
 * right one, and S3 accepts it, is test/http/payload-signing.test.ts's question, against the real server.)
 */

interface Received {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

let server: Server;
let endpoint = '';
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push({ method: request.method ?? '', headers: request.headers });
      response.writeHead(200, { etag: '"0123"', 'content-length': '0' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function driverFor(overwrite: boolean, signPayload: boolean) {
  const config = parseConfig(
    {
      s3: {
        endpoint,
        forcePathStyle: true,
        signPayload,
        credentials: { accessKeyId: 'AKIAHASH', secretAccessKey: 'hash-secret' },
      },
      storages: { files: { driver: 's3', bucket: 'hash-bucket', overwrite } },
    },
    {},
  );
  return createS3Driver({
    name: 'files',
    profile: config.storages.files as S3ProfileConfig,
    connection: config.s3,
    reservationTtlSeconds: 60,
    pool: new PartPool(64 * 2 ** 20),
    bufferWaitMs: 1000,
  });
}

const data = Buffer.alloc(10 * 1024, 7);
/** Not data's digest. */
const handedDown = 'f'.repeat(64);
const lastPut = () => received.filter((request) => request.method === 'PUT').at(-1);
const fromSdk = (request: Received | undefined) => request?.headers['amz-sdk-invocation-id'] !== undefined;

describe.each([
  { overwrite: false, path: 'the quick create-only PutObject' },
  { overwrite: true, path: "the SDK's replacing PutObject" },
])('$path', ({ overwrite }) => {
  it('is signed with the digest handed down, not one of its own', async () => {
    const driver = driverFor(overwrite, true);
    try {
      await driver.put({
        key: `given-${overwrite}.bin`,
        body: Readable.from([data]),
        metadata: { contentType: 'application/octet-stream' },
        overwrite,
        sha256: () => handedDown,
      });
      expect(fromSdk(lastPut())).toBe(overwrite);
      expect(lastPut()?.headers['x-amz-content-sha256']).toBe(handedDown);
      expect(lastPut()?.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    } finally {
      await driver.close();
    }
  });

  it('hashes the body itself when no digest is handed down (or not yet: the body had not ended)', async () => {
    const driver = driverFor(overwrite, true);
    try {
      for (const sha256Of of [undefined, () => undefined]) {
        await driver.put({
          key: `own-${overwrite}-${sha256Of === undefined}.bin`,
          body: Readable.from([data]),
          metadata: { contentType: 'application/octet-stream' },
          overwrite,
          ...(sha256Of && { sha256: sha256Of }),
        });
        expect(lastPut()?.headers['x-amz-content-sha256']).toBe(sha256(data));
      }
    } finally {
      await driver.close();
    }
  });

  it('sends UNSIGNED-PAYLOAD where payloads are unsigned, whatever is handed down', async () => {
    const driver = driverFor(overwrite, false);
    try {
      await driver.put({
        key: `unsigned-${overwrite}.bin`,
        body: Readable.from([data]),
        metadata: { contentType: 'application/octet-stream' },
        overwrite,
        sha256: () => handedDown,
      });
      expect(lastPut()?.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    } finally {
      await driver.close();
    }
  });
});

describe('the Meter', () => {
  it('offers its digest only once every byte has been read out of it, and the same one every time', async () => {
    const meter = new Meter(2 ** 20);
    expect(meter.endedDigest()).toBeUndefined();
    const out: Buffer[] = [];
    await pipeline(Readable.from([data.subarray(0, 4000), data.subarray(4000)]), meter, async (source) => {
      for await (const chunk of source) {
        expect(meter.endedDigest()).toBeUndefined();
        out.push(chunk as Buffer);
      }
    });
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(meter.endedDigest()).toBe(sha256(data));
    expect(meter.digest()).toBe(sha256(data));
  });
});
