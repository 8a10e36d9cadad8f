import { ALGORITHM, EMPTY_SHA256, type HmacKey, hmacHex } from './sigv4.ts';

/**
 * SigV4's signed chunks (`x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): a body sent as
 * it arrives and still covered by the signature, each chunk signed with the signature before it, the
 * first with the request's own (the seed), the last a chunk of no bytes that ends the chain.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 *
 * Chunks are CHUNK_SIZE bytes but the last data chunk, so the encoded length (the request's
 * Content-Length) follows from the decoded length before a byte is read.
 */

export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

/**
 * The spec wants 8 KiB at least (but for the last) and recommends 64 KiB or more. 256 KiB: each chunk
 * is one socket write (signed-chunks.ts), a quarter as many as at 64 KiB, which cost more CPU per GiB
 * (bench/README, "Signed payloads, streamed"); at most one chunk is held per request, and the framing
 * is 0.03 % of the body.
 */
export const CHUNK_SIZE = 256 * 1024;

/** `;chunk-signature=` + 64 hex digits + CRLF after the size, CRLF after the data. */
const FRAMING_BYTES = ';chunk-signature='.length + 64 + 4;

/** The bytes a body of `decodedLength` takes once framed in CHUNK_SIZE chunks, final chunk included. */
export function encodedLength(decodedLength: number, chunkSize = CHUNK_SIZE): number {
  const whole = Math.floor(decodedLength / chunkSize);
  const rest = decodedLength % chunkSize;
  const chunk = (size: number) => size.toString(16).length + FRAMING_BYTES + size;
  return whole * chunk(chunkSize) + (rest > 0 ? chunk(rest) : 0) + chunk(0);
}

/** What a request's chunks are signed with: the same key, date and scope as the request itself. */
export interface ChunkSigning {
  key: HmacKey;
  /** The request's `x-amz-date`, e.g. `20130524T000000Z`. */
  longDate: string;
  /** `20130524/us-east-1/s3/aws4_request` */
  scope: string;
  /** The request's own signature, from its Authorization header. */
  seedSignature: string;
}

/**
 * Signs one request's chunks in order: given each chunk's SHA-256 (hex), returns its signature and
 * keeps it for the next one.
 */
export function createChunkSigner(signing: ChunkSigning): (chunkSha256: string) => string {
  const prefix = `${ALGORITHM}-PAYLOAD\n${signing.longDate}\n${signing.scope}\n`;
  let previous = signing.seedSignature;
  return (chunkSha256) => {
    previous = hmacHex(signing.key, `${prefix}${previous}\n${EMPTY_SHA256}\n${chunkSha256}`);
    return previous;
  };
}

/** A chunk's head: its size in hex and its signature. */
export const chunkHead = (size: number, signature: string): string =>
  `${size.toString(16)};chunk-signature=${signature}\r\n`;
