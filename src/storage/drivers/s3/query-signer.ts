import { createHmac, hash } from 'node:crypto';

/**
 * SigV4 query signing (presigned GETs) without the SDK's per-call set-up. `getSignedUrl` clones the
 * client's middleware stack, resolves the endpoint rules and builds a new signer (with an empty key
 * cache) on every call; a URL needs none of that once the bucket's address is known. This signs
 * exactly what `getSignedUrl(presignClient, new GetObjectCommand(…))` signs — the same query
 * parameters, the same order, only `host` signed (test/unit/s3-query-signer.test.ts holds it to the
 * SDK's output) — and derives the signing key once per (day, credentials), not once per URL.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface QuerySignerSettings {
  /** Where clients will fetch: `http(s)://host[:port]`, plus the bucket's path when path-style. */
  bucketUrl: string;
  region: string;
  /** The SDK adds `x-amz-checksum-mode=ENABLED` to GetObject unless checksums are `WHEN_REQUIRED`. */
  checksumMode: boolean;
}

export interface QuerySignInput {
  /** Backend key, unencoded. */
  key: string;
  expiresIn: number;
  /** Whole seconds (SigV4 dates have no fraction). */
  signingDate: Date;
  credentials: SigningCredentials;
  responseContentType?: string | undefined;
  responseContentDisposition?: string | undefined;
}

const SERVICE = 's3';
const ALGORITHM = 'AWS4-HMAC-SHA256';

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's UriEncode). */
export const uriEncode = (value: string): string =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );

const encodeKeyPath = (key: string): string => key.split('/').map(uriEncode).join('/');

export type QuerySigner = (input: QuerySignInput) => string;

export function createQuerySigner(settings: QuerySignerSettings): QuerySigner {
  const bucketUrl = new URL(settings.bucketUrl);
  const origin = `${bucketUrl.protocol}//${bucketUrl.host}`;
  const canonicalHeaders = `host:${bucketUrl.host}\n`;
  const basePath = bucketUrl.pathname.replace(/\/+$/, '');
  let cached: { day: string; credentials: SigningCredentials; key: HmacKey } | undefined;

  const signingKey = (day: string, credentials: SigningCredentials): HmacKey => {
    const hit = cached;
    if (
      hit?.day === day &&
      hit.credentials.accessKeyId === credentials.accessKeyId &&
      hit.credentials.secretAccessKey === credentials.secretAccessKey
    ) {
      return hit.key;
    }
    let key = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(day).digest();
    for (const part of [settings.region, SERVICE, 'aws4_request']) {
      key = createHmac('sha256', key).update(part).digest();
    }
    cached = { day, credentials: { ...credentials }, key: hmacKey(key) };
    return cached.key;
  };

  const tail = `${settings.checksumMode ? '&x-amz-checksum-mode=ENABLED' : ''}&x-id=GetObject`;
  const credentialScope = `%2F${settings.region}%2F${SERVICE}%2Faws4_request`;

  return (input) => {
    const longDate = amzDate(input.signingDate);
    const day = longDate.slice(0, 8);
    const { credentials } = input;
    // The parameters in byte order of their names (upper case first), as SigV4's canonical query
    // and the SDK's URL both have them; X-Amz-Signature goes between Security-Token and SignedHeaders.
    const head = `X-Amz-Algorithm=${ALGORITHM}&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=${uriEncode(credentials.accessKeyId)}%2F${day}${credentialScope}&X-Amz-Date=${longDate}&X-Amz-Expires=${input.expiresIn}${credentials.sessionToken ? `&X-Amz-Security-Token=${uriEncode(credentials.sessionToken)}` : ''}`;
    let response = '';
    if (input.responseContentDisposition !== undefined)
      response += `&response-content-disposition=${uriEncode(input.responseContentDisposition)}`;
    if (input.responseContentType !== undefined)
      response += `&response-content-type=${uriEncode(input.responseContentType)}`;
    const rest = `&X-Amz-SignedHeaders=host${response}${tail}`;
    const path = `${basePath}/${encodeKeyPath(input.key)}`;
    const canonicalRequest = `GET\n${path}\n${head}${rest}\n${canonicalHeaders}\nhost\nUNSIGNED-PAYLOAD`;
    const stringToSign = `${ALGORITHM}\n${longDate}\n${day}/${settings.region}/${SERVICE}/aws4_request\n${hash('sha256', canonicalRequest)}`;
    const signature = hmacHex(signingKey(day, credentials), stringToSign);
    return `${origin}${path}?${head}&X-Amz-Signature=${signature}${rest}`;
  };
}

/** `20261203T101112Z` */
const amzDate = (date: Date): string => {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
};

/** A derived key as HMAC-SHA256's padded inner and outer blocks (RFC 2104), ready to prefix. */
interface HmacKey {
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
function hmacHex(key: HmacKey, message: string): string {
  const innerHash = hash('sha256', Buffer.concat([key.inner, Buffer.from(message)]), 'buffer');
  return hash('sha256', Buffer.concat([key.outer, innerHash]), 'hex');
}
