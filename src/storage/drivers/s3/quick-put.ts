import { crc32 } from 'node:zlib';
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import { createBucketEndpoint } from './bucket-endpoint.ts';
import { payloadSha256 } from './payload-hash.ts';
import { createRequestSigner, encodeKeyPath, type SigningCredentials } from './sigv4.ts';

/**
 * The create-only PutObject (If-None-Match: *) of a body already in memory, without the SDK's per-call
 * machinery: the write behind every small upload. Through the SDK the call resolves its middleware
 * stack and builds a SigV4 signer per call, about half of Stowage's CPU per small upload; signed here
 * (sigv4.ts, the derived key kept per day) and sent on a keep-alive agent (bucket-endpoint.ts) it costs
 * a fraction of that (bench/README, "Small uploads").
 *
 * The request is the SDK's (test/http/quick-put.test.ts compares the two on the wire): the same
 * headers from the same PutObject fields, signed the same way; `x-amz-content-sha256` the body's
 * SHA-256, or UNSIGNED-PAYLOAD when the connection sends bodies unsigned (`signPayload`, as
 * unsigned-payload.ts does for the SDK); with checksums `when_supported` the SDK's CRC32 header. A
 * write with a field this path does not send goes through the SDK.
 *
 * Only the two plain answers are taken from here: 200 (stored; its ETag) and 412 (the key is taken).
 * Anything else — 409, 403, 5xx, 501, a redirect, a refused or reset connection — is sent again
 * through the SDK (single-put.ts), whose retries and error mapping (errors.ts) stay the one place S3
 * failures are understood: safe for a body in memory, and create-only, so a repeat never replaces.
 * A write that timed out is not sent again (that would double the request deadline): it is a timeout.
 */

export interface QuickPutSettings {
  /** The bucket as Stowage reaches it (the internal endpoint), path-style path included. */
  bucketUrl: string;
  /** The bucket's name: a write for another bucket goes through the SDK. */
  bucket: string;
  region: string;
  credentials: () => Promise<SigningCredentials>;
  /** The connection's request timeout: past it (no answer, or a stall) the write fails with TimeoutError. */
  timeoutMs: number;
  /** false: the body is sent UNSIGNED-PAYLOAD (connection.ts `signPayload`). */
  signPayload: boolean;
  /** `when_supported`: the SDK sends a CRC32 of the body; so does this path. */
  checksums: 'when_supported' | 'when_required';
}

/** What S3 answered: stored (its ETag, when it sent one), the key taken, or undefined: ask the SDK. */
export type QuickPutAnswer = { etag: string | undefined } | 'exists' | undefined;

/** `sha256`: the body's digest when the caller has it already (payload-hash.ts); else hashed here. */
export type QuickPut = ((
  params: PutObjectCommandInput,
  data: Buffer,
  sha256?: string,
) => Promise<QuickPutAnswer>) & {
  close(): void;
};

/** PutObject fields and the headers the SDK sends them in. */
const HEADERS: Partial<Record<keyof PutObjectCommandInput, string>> = {
  ACL: 'x-amz-acl',
  CacheControl: 'cache-control',
  ContentDisposition: 'content-disposition',
  ContentType: 'content-type',
  ServerSideEncryption: 'x-amz-server-side-encryption',
  SSEKMSKeyId: 'x-amz-server-side-encryption-aws-kms-key-id',
  StorageClass: 'x-amz-storage-class',
};

export function createQuickPut(settings: QuickPutSettings): QuickPut {
  const endpoint = createBucketEndpoint(settings.bucketUrl, settings.timeoutMs, 'PutObject');
  const sign = createRequestSigner(endpoint.host, settings.region);

  const put = async (
    params: PutObjectCommandInput,
    data: Buffer,
    sha256?: string,
  ): Promise<QuickPutAnswer> => {
    if (params.Bucket !== settings.bucket || typeof params.Key !== 'string') return undefined;
    const headers = requestHeaders(params, data, settings.checksums);
    if (headers === undefined) return undefined;
    let credentials: SigningCredentials;
    try {
      credentials = await settings.credentials();
    } catch {
      return undefined;
    }
    const path = `${endpoint.basePath}/${encodeKeyPath(params.Key)}`;
    const payloadHash = settings.signPayload ? payloadSha256(data, sha256) : 'UNSIGNED-PAYLOAD';
    const response = await endpoint.send(
      'PUT',
      path,
      sign('PUT', path, headers, payloadHash, credentials),
      data,
    );
    if (response === undefined) return undefined;
    response.resume();
    if (response.statusCode === 412) return 'exists';
    if (response.statusCode !== 200) return undefined;
    const etag = response.headers.etag;
    return { etag: etag === '' ? undefined : etag };
  };
  return Object.assign(put, { close: () => endpoint.close() });
}

/** The headers of the SDK's create-only PutObject of `data`; undefined for a field not sent here. */
function requestHeaders(
  params: PutObjectCommandInput,
  data: Buffer,
  checksums: QuickPutSettings['checksums'],
): Record<string, string> | undefined {
  const headers: Record<string, string> = { 'content-length': String(data.length), 'if-none-match': '*' };
  for (const [field, value] of Object.entries(params)) {
    if (value === undefined || field === 'Bucket' || field === 'Key') continue;
    const name = HEADERS[field as keyof PutObjectCommandInput];
    if (name !== undefined) headers[name] = String(value);
    else if (field !== 'Metadata') return undefined;
    else {
      for (const [key, entry] of Object.entries(value as Record<string, string>)) {
        headers[`x-amz-meta-${key.toLowerCase()}`] = entry;
      }
    }
  }
  if (checksums === 'when_supported') {
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32BE(crc32(data));
    headers['x-amz-sdk-checksum-algorithm'] = 'CRC32';
    headers['x-amz-checksum-crc32'] = checksum.toString('base64');
  }
  return headers;
}
