import { hash } from 'node:crypto';
import {
  ALGORITHM,
  amzDate,
  createSigningKeys,
  encodeKeyPath,
  hmacHex,
  SERVICE,
  type SigningCredentials,
  uriEncode,
} from './sigv4.ts';

/**
 * SigV4 query signing (presigned GETs) without the SDK's per-call set-up. `getSignedUrl` clones the
 * client's middleware stack, resolves the endpoint rules and builds a new signer (with an empty key
 * cache) on every call; a URL needs none of that once the bucket's address is known. This signs
 * exactly what `getSignedUrl(presignClient, new GetObjectCommand(…))` signs — the same query
 * parameters, the same order, only `host` signed (test/unit/s3-query-signer.test.ts holds it to the
 * SDK's output) — and derives the signing key once per (day, credentials), not once per URL.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */

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

export type QuerySigner = (input: QuerySignInput) => string;

export function createQuerySigner(settings: QuerySignerSettings): QuerySigner {
  const bucketUrl = new URL(settings.bucketUrl);
  const origin = `${bucketUrl.protocol}//${bucketUrl.host}`;
  const canonicalHeaders = `host:${bucketUrl.host}\n`;
  const basePath = bucketUrl.pathname.replace(/\/+$/, '');
  const signingKey = createSigningKeys(settings.region);

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
