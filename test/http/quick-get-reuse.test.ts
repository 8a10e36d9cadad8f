import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { testSeed } from '../support/seeded-random.ts';
import { useStowage } from '../support/stowage.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * Downloads whose chunks are views of reused memory (quick-get.ts, slot-body.ts): a slot is read into
 * again only once the write that sent its bytes to the client has called back. Slow clients are what
 * would expose an early reuse — their bytes wait in the response's and the socket's buffers, pointing
 * into a slot, while S3 keeps sending — so large random objects are read by fast and slow clients at
 * once, every byte compared by hash. Reusing a slot as soon as its bytes are handed to the response
 * (the write callback not waited for) fails this test: the slow clients read other parts of the
 * object in place of theirs.
 *
 * Through a TCP proxy that watches what Stowage sends S3, so the test also knows the downloads took
 * the quick path and not the SDK's (which would pass whatever the quick path did).
 */
const MiB = 2 ** 20;
const SIZE = 24 * MiB + 4321;

const proxy = useS3Proxy();
const stowage = useStowage({
  buckets: ['reuse'],
  storages: (buckets) => ({
    reuse: { driver: 's3', bucket: buckets.reuse ?? '', s3: { endpoint: proxy.url } },
  }),
});

const random = testSeed('quick-get-reuse');
let data: Buffer;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  data = Buffer.allocUnsafe(SIZE);
  for (let at = 0; at + 4 <= SIZE; at += 4) data.writeUInt32LE(Math.floor(random.next() * 2 ** 32), at);
  await stowage.s3.send(new PutObjectCommand({ Bucket: stowage.buckets.reuse, Key: 'big.bin', Body: data }));
});

/** A raw HTTP GET whose reader stops for `pauseMs` after every `everyBytes`: a client on a slow link. */
function slowDownload(path: string, everyBytes: number, pauseMs: number): Promise<Buffer> {
  const { hostname, port } = new URL(stowage.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let sinceLastPause = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      sinceLastPause += chunk.length;
      if (sinceLastPause >= everyBytes) {
        sinceLastPause = 0;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const whole = Buffer.concat(chunks);
      const split = whole.indexOf('\r\n\r\n');
      const head = whole.subarray(0, split).toString('latin1');
      if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(head));
      resolve(whole.subarray(split + 4));
    });
    socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`);
  });
}

describe('downloads read into reused memory', () => {
  it('arrive whole and in order for fast and slow clients at once', async () => {
    const gets: string[] = [];
    const stop = proxy.watchUp((bytes) => {
      const text = bytes.toString('latin1');
      if (text.startsWith('GET ')) gets.push(text.slice(0, text.indexOf('\r\n\r\n')));
    });
    const path = '/v1/storages/reuse/objects/big.bin';
    const fast = () =>
      fetch(`${stowage.url}${path}`).then(async (response) => Buffer.from(await response.arrayBuffer()));
    try {
      const bodies = await Promise.all([
        fast(),
        slowDownload(path, 256 * 1024, 15),
        fast(),
        slowDownload(path, MiB, 40),
        slowDownload(path, 64 * 1024, 2),
      ]);
      const expected = sha256(data);
      expect(bodies.map((body) => ({ length: body.length, sha256: sha256(body) }))).toEqual(
        bodies.map(() => ({ length: SIZE, sha256: expected })),
      );
      // Every GetObject was Stowage's own: the SDK's carry its user agent.
      expect(gets.length).toBe(5);
      expect(gets.filter((request) => /^x-amz-user-agent:/im.test(request))).toEqual([]);
    } finally {
      stop();
    }
  });

  it('a client that leaves mid-download gives up its S3 connection, and later downloads arrive whole', async () => {
    const url = `${stowage.url}/v1/storages/reuse/objects/big.bin`;
    const { hostname, port } = new URL(stowage.url);
    for (let left = 0; left < 4; left++) {
      // Gone after the first bytes: the socket closed, as a browser tab closing does.
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname);
        socket.once('data', () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
        socket.write(`GET ${new URL(url).pathname} HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
      });
    }
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect({ length: body.length, sha256: sha256(body) }).toEqual({ length: SIZE, sha256: sha256(data) });
    expect(stowage.logs.filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });
});
