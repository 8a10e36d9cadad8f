import { createHash } from 'node:crypto';
import { CHUNK_SIZE, chunkHead } from './chunk-signer.ts';
import { EMPTY_SHA256 } from './sigv4.ts';

/**
 * Frames a body of known length as SigV4 signed chunks (chunk-signer.ts): `size;chunk-signature=…`,
 * CRLF, the data, CRLF; then the empty final chunk. Each chunk is hashed as its bytes pass and its
 * head sent once it is whole, so at most one chunk (CHUNK_SIZE) is held. The source's buffers are
 * passed on as they are, never copied: a source must not reuse a buffer it has yielded.
 *
 * A source that runs past `decodedLength`, or ends short of it, fails the stream (DecodedLengthMismatch)
 * before the chunk that would carry the difference is sent: S3 then gets a body shorter than its
 * Content-Length, so it stores nothing.
 */

export class DecodedLengthMismatch extends Error {
  readonly code = 'STOWAGE_DECODED_LENGTH_MISMATCH';
  readonly expected: number;
  readonly received: number;
  constructor(expected: number, received: number) {
    super(`the body is ${received > expected ? 'longer' : 'shorter'} than the ${expected} bytes declared`);
    this.expected = expected;
    this.received = received;
  }
}

export async function* signedChunks(
  source: AsyncIterable<Uint8Array>,
  decodedLength: number,
  sign: (chunkSha256: string) => string,
  chunkSize = CHUNK_SIZE,
): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  let filled = 0;
  let hash = createHash('sha256');
  let received = 0;
  // The CRLF that ends a chunk's data goes out with the next chunk's head: one small write, not two.
  let lead = '';
  for await (const input of source) {
    let data = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    received += data.length;
    if (received > decodedLength) throw new DecodedLengthMismatch(decodedLength, received);
    while (data.length > 0) {
      const take = Math.min(chunkSize - filled, data.length);
      const piece = take === data.length ? data : data.subarray(0, take);
      hash.update(piece);
      pieces.push(piece);
      filled += take;
      data = data.subarray(take);
      if (filled === chunkSize) {
        yield Buffer.from(`${lead}${chunkHead(filled, sign(hash.digest('hex')))}`, 'latin1');
        yield* pieces;
        lead = '\r\n';
        pieces = [];
        filled = 0;
        hash = createHash('sha256');
      }
    }
  }
  if (received < decodedLength) throw new DecodedLengthMismatch(decodedLength, received);
  if (filled > 0) {
    yield Buffer.from(`${lead}${chunkHead(filled, sign(hash.digest('hex')))}`, 'latin1');
    yield* pieces;
    lead = '\r\n';
  }
  yield Buffer.from(`${lead}${chunkHead(0, sign(EMPTY_SHA256))}\r\n`, 'latin1');
}
