import { createHmac, hash } from 'node:crypto';

/**
 * The SigV4 pieces Stowage's own signers share (query-signer.ts for presigned GETs, quick-head.ts for
 * the HEAD behind a link, quick-put.ts for a create-only write of a body in memory): encoding, dates,
 * a derived signing key kept per (day, credentials), and header signing.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export const SERVICE = 's3';
export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's UriEncode). */
export const uriEncode = (value: string): string =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/** An object key as S3 paths carry it: each segment encoded, the `/` kept. */
export const encodeKeyPath = (key: string): string => key.split('/').map(uriEncode).join('/');

/**
 * The signing key for a day, derived once (four HMACs) and kept until the day or the credentials
 * change.
 */
export function createSigningKeys(region: string): (day: string, credentials: SigningCredentials) => HmacKey {
  let cached: { day: string; accessKeyId: string; secretAccessKey: string; key: HmacKey } | undefined;
  return (day, credentials) => {
    const hit = cached;
    if (
      hit?.day === day &&
      hit.accessKeyId === credentials.accessKeyId &&
      hit.secretAccessKey === credentials.secretAccessKey
    ) {
      return hit.key;
    }
    let key = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(day).digest();
    for (const part of [region, SERVICE, 'aws4_request']) {
      key = createHmac('sha256', key).update(part).digest();
    }
    const { accessKeyId, secretAccessKey } = credentials;
    cached = { day, accessKeyId, secretAccessKey, key: hmacKey(key) };
    return cached.key;
  };
}

/** `20261203T101112Z` */
export const amzDate = (date: Date): string => {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
};

/** A derived key as HMAC-SHA256's padded inner and outer blocks (RFC 2104), ready to prefix. */
export interface HmacKey {
  inner: Buffer;
  outer: Buffer;
}

const BLOCK = 64;

function hmacKey(key: Buffer): HmacKey {
  // The derived key is 32 bytes, shorter than the block, so it is zero-padded as it is.
  const inner = Buffer.alloc(BLOCK, 0x36);
  const outer = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i] = (inner[i] ?? 0) ^ (key[i] ?? 0);
    outer[i] = (outer[i] ?? 0) ^ (key[i] ?? 0);
  }
  return { inner, outer };
}

/**
 * HMAC-SHA256 from two one-shot hashes: `createHmac` sets up an OpenSSL HMAC context per call, which
 * costs more than the rest of a signature together (bench/README, "Links").
 */
export function hmacHex(key: HmacKey, message: string): string {
  const innerHash = hash('sha256', Buffer.concat([key.inner, Buffer.from(message)]), 'buffer');
  return hash('sha256', Buffer.concat([key.outer, innerHash]), 'hex');
}

/** `sha256("")`: GET and HEAD have no body (and no chunk of a signed aws-chunked body has headers). */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Headers the SDK's signer never signs (@smithy/signature-v4 `ALWAYS_UNSIGNABLE_HEADERS`): hops may
 * change them on the way. Left out here too, so a request signs what the SDK's would.
 */
const UNSIGNABLE_HEADERS = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

/**
 * A request's headers with its signature: the given ones (lower-case names) plus `host`,
 * `x-amz-content-sha256` (`payloadHash`: the body's SHA-256 in hex, or `UNSIGNED-PAYLOAD`),
 * `x-amz-date`, the session token and `authorization`. Every header is signed but the unsignable ones,
 * each value trimmed with its inner runs of whitespace folded to one space (SigV4's canonical form).
 * The path is sent as given (already encoded; S3 does not encode it twice); no query.
 */
export type RequestSigner = (
  method: string,
  path: string,
  headers: Record<string, string>,
  payloadHash: string,
  credentials: SigningCredentials,
) => Record<string, string>;

export function createRequestSigner(host: string, region: string): RequestSigner {
  const signingKey = createSigningKeys(region);
  return (method, path, headers, payloadHash, credentials) => {
    const longDate = amzDate(new Date());
    const day = longDate.slice(0, 8);
    const scope = `${day}/${region}/${SERVICE}/aws4_request`;
    const all: Record<string, string> = {
      ...headers,
      host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': longDate,
    };
    if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(all)
      .filter((name) => !UNSIGNABLE_HEADERS.has(name))
      .sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${canonicalValue(all[name] ?? '')}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `${method}\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${hash('sha256', canonicalRequest)}`;
    const signature = hmacHex(signingKey(day, credentials), stringToSign);
    all.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return all;
  };
}

/** As the SDK's signer writes a canonical header value. */
const canonicalValue = (value: string): string => value.trim().replace(/\s+/g, ' ');

/**
 * Header-signed requests without a body (HEAD, GET) to one host: `host`, `x-amz-content-sha256`,
 * `x-amz-date` (and the session token) signed, nothing else; other headers (Range) ride unsigned.
 */
export function createHeaderSigner(
  host: string,
  region: string,
): (method: string, path: string, credentials: SigningCredentials) => Record<string, string> {
  const sign = createRequestSigner(host, region);
  return (method, path, credentials) => sign(method, path, {}, EMPTY_SHA256, credentials);
}
