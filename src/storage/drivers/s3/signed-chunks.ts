import { createHash } from 'node:crypto';
import { CHUNK_SIZE, chunkHead } from './chunk-signer.ts';
import { EMPTY_SHA256 } from './sigv4.ts';

/**
 * Frames a body of known length as SigV4 signed chunks (chunk-signer.ts): `size;chunk-signature=…`,
 * CRLF, the data, CRLF; then the empty final chunk. Each chunk is hashed as its bytes pass and its
 * head sent once it is whole, so at most one chunk (CHUNK_SIZE) is held. A chunk goes out as one
 * buffer, head and bytes copied together (one socket write per chunk, not one per piece: the copy
 * costs less than the writes it saves); until then its pieces are held as the source gave them, so a
 * source must not reuse a buffer it has yielded.
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
        yield framed(lead, chunkHead(filled, sign(hash.digest('hex'))), pieces, filled);
        lead = '\r\n';
        pieces = [];
        filled = 0;
        hash = createHash('sha256');
      }
    }
  }
  if (received < decodedLength) throw new DecodedLengthMismatch(decodedLength, received);
  if (filled > 0) {
    yield framed(lead, chunkHead(filled, sign(hash.digest('hex'))), pieces, filled);
    lead = '\r\n';
  }
  yield Buffer.from(`${lead}${chunkHead(0, sign(EMPTY_SHA256))}\r\n`, 'latin1');
}

/** One chunk as one buffer, head first: one socket write per chunk rather than one per piece. */
function framed(lead: string, head: string, pieces: Buffer[], size: number): Buffer {
  const start = lead.length + head.length;
  const chunk = Buffer.allocUnsafe(start + size);
  chunk.write(lead + head, 0, 'latin1');
  let offset = start;
  for (const piece of pieces) offset += piece.copy(chunk, offset);
  return chunk;
}
