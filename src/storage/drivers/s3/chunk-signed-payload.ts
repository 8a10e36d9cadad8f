import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { createChunkSigner, encodedLength, STREAMING_PAYLOAD } from './chunk-signer.ts';
import { signedChunks } from './signed-chunks.ts';
import { createSigningKeys, type SigningCredentials } from './sigv4.ts';

/**
 * Streamed PutObject and UploadPart bodies sent as SigV4 signed chunks (chunk-signer.ts) on the client
 * that streams (connection.ts `streamClient`) when payloads are signed: the body goes to S3 as it
 * arrives and every byte of it is still covered by the signature, which a single signed payload could
 * only be once the whole body had been read and hashed.
 *
 * The request stays the SDK's (its serialization, error parsing, timeouts); two middlewares either side
 * of its signer do the rest:
 *
 * - **before signing**: the streaming headers — `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
 *   (the SDK's signer takes a preset value as the payload hash, @smithy/signature-v4 `getPayloadHash`),
 *   `x-amz-decoded-content-length` and the encoded Content-Length — so they are signed with the
 *   request. No `Content-Encoding: aws-chunked`, which the spec lists: S3 tells the framing from
 *   `x-amz-content-sha256` alone (AWS support's advice to fog-aws, fog/fog-aws#147; amazonka does the
 *   same), and Ceph 16 stores the header on the object and serves it with every GET and presigned
 *   link (fixed upstream only in 2025, ceph/ceph#64440);
 * - **after signing**: the body is framed into signed chunks, chained from the request's signature
 *   (the seed) with its date, scope and the credentials it was signed with.
 *
 * A request whose `x-amz-content-sha256` is set already (the SDK's own aws-chunked checksum trailer,
 * with checksums `when_supported`) is left to the SDK: put.ts does not stream those (connection.ts
 * `streamsKnownLengths`). The stream client never retries, so no request is ever framed twice.
 */
const BODY_OPERATIONS = new Set(['PutObjectCommand', 'UploadPartCommand']);

// biome-ignore lint/suspicious/noExplicitAny: the stack's middlewares take any command's input and output.
type Middleware = FinalizeRequestMiddleware<any, any>;

interface RequestParts {
  headers: Record<string, string>;
  body?: unknown;
}

export function sendStreamsChunkSigned(client: S3Client): void {
  const signingKeys = new Map<string, ReturnType<typeof createSigningKeys>>();
  const setHeaders: Middleware = (next, context) => (args) => {
    const request = args.request as RequestParts;
    const decoded = Number(request.headers['content-length']);
    if (
      BODY_OPERATIONS.has(context.commandName ?? '') &&
      request.body instanceof Readable &&
      Number.isSafeInteger(decoded) &&
      headerName(request.headers, 'x-amz-content-sha256') === undefined
    ) {
      request.headers['x-amz-content-sha256'] = STREAMING_PAYLOAD;
      request.headers['x-amz-decoded-content-length'] = String(decoded);
      request.headers['content-length'] = String(encodedLength(decoded));
    }
    return next(args);
  };
  const frameBody: Middleware = (next, context) => async (args) => {
    const request = args.request as RequestParts;
    if (request.headers['x-amz-content-sha256'] !== STREAMING_PAYLOAD || !(request.body instanceof Readable))
      return next(args);
    const { scope, signature } = parseAuthorization(request.headers.authorization);
    const [day = '', region = ''] = scope.split('/');
    let keys = signingKeys.get(region);
    if (keys === undefined) {
      // Derived once per day and region, as sigv4.ts keeps them.
      keys = createSigningKeys(region);
      signingKeys.set(region, keys);
    }
    const credentials =
      signedWith(context.__smithy_context?.selectedHttpAuthScheme?.identity) ??
      (await client.config.credentials());
    const sign = createChunkSigner({
      key: keys(day, credentials),
      longDate: request.headers['x-amz-date'] ?? '',
      scope,
      seedSignature: signature,
    });
    const decoded = Number(request.headers['x-amz-decoded-content-length']);
    const framed = Readable.from(signedChunks(request.body, decoded, sign), { objectMode: false });
    // Failures reach the caller through send(); an 'error' event must never go unheard.
    framed.on('error', () => {});
    request.body = framed;
    return next(args);
  };
  client.middlewareStack.addRelativeTo(setHeaders, {
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    name: 'stowageChunkSignedHeaders',
  });
  client.middlewareStack.addRelativeTo(frameBody, {
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
    name: 'stowageChunkSignedBody',
  });
}

const headerName = (headers: Record<string, string>, name: string): string | undefined =>
  Object.keys(headers).find((key) => key.toLowerCase() === name);

/** `AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=…, Signature=<hex>` */
function parseAuthorization(authorization: string | undefined): { scope: string; signature: string } {
  const match = /Credential=[^/]+\/([^,]+),.*Signature=([0-9a-f]{64})/.exec(authorization ?? '');
  if (match === null) throw new Error('the streamed request was not signed with SigV4 (no seed signature)');
  return { scope: match[1] ?? '', signature: match[2] ?? '' };
}

/** The identity the SDK signed the request with, when it is AWS credentials. */
function signedWith(identity: unknown): SigningCredentials | undefined {
  const { accessKeyId, secretAccessKey, sessionToken } = (identity ?? {}) as Partial<SigningCredentials>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return undefined;
  return { accessKeyId, secretAccessKey, ...(typeof sessionToken === 'string' && { sessionToken }) };
}
