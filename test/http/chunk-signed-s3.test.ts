import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../src/storage/drivers/s3/chunk-signer.ts';
import { createS3Clients } from '../../src/storage/drivers/s3/connection.ts';
import { sha256 } from '../support/payloads.ts';
import { useTestBucket } from '../support/test-bucket.ts';

/**
 * Signed chunks (chunk-signed-payload.ts) against the real S3 server, on the client Stowage streams
 * with (signed payloads, the default over plain http): S3 takes a streamed PutObject whose body is
 * covered chunk by chunk, and refuses one whose bytes were changed after signing — so S3 checks the
 * chunk signatures, and a body that skipped them (signed by the seed alone) would be refused.
 */
const target = useTestBucket('chunked');
const opened: S3Client[] = [];
/** The clients Stowage makes for this connection; destroyed after the file. */
function clients() {
  const made = createS3Clients(target.connection);
  opened.push(made.client, made.streamClient, made.presignClient);
  return made;
}
afterAll(() => {
  for (const client of opened) client.destroy();
});

// biome-ignore lint/suspicious/noExplicitAny: the stack's middlewares take any command's input and output.
type Middleware = FinalizeRequestMiddleware<any, any>;

/** A stream client that changes one byte of the framed body, `at` bytes in, after it has been signed. */
function tamperingClient(at: number): S3Client {
  const { streamClient } = clients();
  const tamper: Middleware = (next) => (args) => {
    const request = args.request as { body?: unknown };
    const framed = request.body as Readable;
    async function* flipped(): AsyncGenerator<Buffer> {
      let offset = 0;
      for await (const chunk of framed as AsyncIterable<Buffer>) {
        if (offset <= at && at < offset + chunk.length) {
          // Another digit for a signature's: the body stays well-formed, only its signing breaks.
          const copy = Buffer.from(chunk);
          copy[at - offset] = copy[at - offset] === 0x30 ? 0x31 : 0x30;
          yield copy;
        } else yield chunk;
        offset += chunk.length;
      }
    }
    request.body = Readable.from(flipped(), { objectMode: false });
    return next(args);
  };
  streamClient.middlewareStack.addRelativeTo(tamper, {
    relation: 'after',
    toMiddleware: 'stowageChunkSignedBody',
    name: 'testTamper',
  });
  return streamClient;
}

const put = (client: S3Client, key: string, data: Buffer) =>
  client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: key,
      // As a client's body arrives: pieces of a socket's size, not the chunks' size.
      Body: Readable.from([data.subarray(0, 50_000), data.subarray(50_000)], { objectMode: false }),
      ContentLength: data.length,
    }),
  );

describe('signed chunks on S3', () => {
  it('the connection signs payloads (http), and a streamed PutObject is stored byte for byte', async () => {
    expect(target.connection.signPayload).toBe(true);
    const { streamClient } = clients();
    const data = randomBytes(3 * CHUNK_SIZE + 12_345);
    const output = await put(streamClient, 'whole.bin', data);
    expect(output.$metadata.httpStatusCode).toBe(200);
    const stored = await target.client.send(
      new GetObjectCommand({ Bucket: target.bucket, Key: 'whole.bin' }),
    );
    expect(sha256(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(sha256(data));
    // The framing is not part of the object.
    expect(stored.ContentLength).toBe(data.length);
    expect(stored.ContentEncoding ?? '').not.toContain('aws-chunked');
  });

  // Ceph answers 403 SignatureDoesNotMatch, or 400 XAmzContentSHA256Mismatch when it is the last data
  // chunk whose signature fails: a refusal either way, where a server that skipped the checks would
  // store the changed body.
  it.each([
    ['a data byte of the second chunk', CHUNK_SIZE + 1000],
    ['a byte of the first chunk signature', 30],
  ])('%s changed after signing: refused, nothing stored', async (_, at) => {
    const key = `tampered-${at}.bin`;
    const failure = await put(tamperingClient(at), key, randomBytes(3 * CHUNK_SIZE)).catch((error) => error);
    expect([failure?.$metadata?.httpStatusCode, failure?.name]).toBeOneOf([
      [403, 'SignatureDoesNotMatch'],
      [400, 'XAmzContentSHA256Mismatch'],
    ]);
    const head = await target.client
      .send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }))
      .catch((error) => error);
    expect(head?.$metadata?.httpStatusCode).toBe(404);
  });
});
