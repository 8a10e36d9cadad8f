import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_SIZE,
  createChunkSigner,
  encodedLength,
  STREAMING_PAYLOAD,
} from '../../src/storage/drivers/s3/chunk-signer.ts';
import { DecodedLengthMismatch, signedChunks } from '../../src/storage/drivers/s3/signed-chunks.ts';
import { createSigningKeys } from '../../src/storage/drivers/s3/sigv4.ts';
import { sdkSigner } from '../support/sdk-signer.ts';

/**
 * Signed chunks against AWS's documented example ("Example: PUT Object" in
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html): 66,560 bytes of `a` in a
 * 64 KiB and a 1 KiB chunk and the final empty one, with the documented credentials, date, seed
 * signature and chunk signatures. The whole encoded body is compared, so any wrong byte fails.
 */
const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const CHUNK_SIGNATURES = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const DECODED = 66_560;
const ENCODED = 66_824;

/** The body as the example spells it out. */
const documented = Buffer.concat([
  Buffer.from(`10000;chunk-signature=${CHUNK_SIGNATURES[0]}\r\n`),
  Buffer.alloc(65_536, 'a'),
  Buffer.from(`\r\n400;chunk-signature=${CHUNK_SIGNATURES[1]}\r\n`),
  Buffer.alloc(1024, 'a'),
  Buffer.from(`\r\n0;chunk-signature=${CHUNK_SIGNATURES[2]}\r\n\r\n`),
]);

const exampleSigner = () =>
  createChunkSigner({
    key: createSigningKeys('us-east-1')('20130524', credentials),
    longDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    seedSignature: SEED,
  });

/** `total` bytes of `a` in pieces of `piece` bytes, as a socket would hand them over. */
function* pieces(total: number, piece: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += piece) yield Buffer.alloc(Math.min(piece, total - sent), 'a');
}

/** The example's chunks are 64 KiB; Stowage's own size (CHUNK_SIZE) is checked below. */
const EXAMPLE_CHUNK = 65_536;

const frame = async (source: Iterable<Buffer>, declared: number, chunkSize = EXAMPLE_CHUNK) =>
  Buffer.concat(
    await Readable.from(signedChunks(Readable.from(source), declared, exampleSigner(), chunkSize)).toArray(),
  );

/** The data sizes of a framed body's chunks, read head by head (each head `size;chunk-signature=…`). */
function chunkSizes(body: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 0; at < body.length; ) {
    const headEnd = body.indexOf('\r\n', at);
    const head = /^([0-9a-f]+);chunk-signature=[0-9a-f]{64}$/.exec(body.toString('latin1', at, headEnd));
    if (head === null) throw new Error(`no chunk head at ${at}`);
    const size = Number.parseInt(head[1] ?? '', 16);
    sizes.push(size);
    at = headEnd + 2 + size + 2;
  }
  return sizes;
}

describe('signed chunks (AWS example)', () => {
  it('the encoded length is the example Content-Length', () => {
    expect(encodedLength(DECODED, EXAMPLE_CHUNK)).toBe(ENCODED);
  });

  it.each([0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12_345])(
    'in CHUNK_SIZE chunks: full chunks, the rest, the final one; the encoded length as sent (%i bytes)',
    async (size) => {
      const body = await frame(pieces(size, 50_000), size, CHUNK_SIZE);
      expect(body.length).toBe(encodedLength(size));
      const rest = size % CHUNK_SIZE;
      expect(chunkSizes(body)).toEqual([
        ...Array<number>(Math.floor(size / CHUNK_SIZE)).fill(CHUNK_SIZE),
        ...(rest > 0 ? [rest] : []),
        0,
      ]);
    },
  );

  it.each([65_536 + 1024, 1000, 4096, 70_001])(
    'frames the body byte for byte as documented, whatever pieces it arrives in (%i bytes)',
    async (piece) => {
      const body = await frame(pieces(DECODED, piece), DECODED);
      expect(body.length).toBe(ENCODED);
      expect(body.equals(documented)).toBe(true);
    },
  );

  it('a body longer or shorter than declared fails before its last chunk is signed', async () => {
    await expect(frame(pieces(DECODED + 1, 4096), DECODED)).rejects.toBeInstanceOf(DecodedLengthMismatch);
    await expect(frame(pieces(DECODED - 1, 4096), DECODED)).rejects.toBeInstanceOf(DecodedLengthMismatch);
  });

  it('an empty body is the final chunk alone', async () => {
    const body = await frame([], 0);
    expect(body.length).toBe(encodedLength(0, EXAMPLE_CHUNK));
    expect(body.toString('latin1')).toMatch(/^0;chunk-signature=[0-9a-f]{64}\r\n\r\n$/);
  });

  it("the SDK's signer takes a preset x-amz-content-sha256 as the payload hash: the example's seed", async () => {
    // What chunk-signed-payload.ts relies on: it sets the streaming headers before the SDK signs.
    const signer = sdkSigner(credentials);
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: 'https:',
        hostname: 's3.amazonaws.com',
        path: '/examplebucket/chunkObject.txt',
        query: {},
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': STREAMING_PAYLOAD,
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(DECODED),
          'content-length': String(ENCODED),
        },
        body: Readable.from([]),
      },
      { signingDate: new Date('2013-05-24T00:00:00Z') },
    );
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;' +
        `x-amz-decoded-content-length;x-amz-storage-class, Signature=${SEED}`,
    );
  });
});
