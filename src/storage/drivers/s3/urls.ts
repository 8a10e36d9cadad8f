import type { PresignInput } from '../../driver.ts';
import type { S3Context } from './context.ts';
import { toAppError } from './errors.ts';
import type { QuerySigner } from './query-signer.ts';

/** SigV4 presigned URLs cannot live longer than 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/');

export interface PublicUrlSettings {
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  publicBaseUrl?: string | undefined;
  publicEndpoint?: string | undefined;
  endpoint?: string | undefined;
}

/**
 * The URL of an object for a public storage: under the CDN base when configured, else the bucket's
 * own URL (bucketUrl).
 */
export function buildPublicUrl(key: string, settings: PublicUrlSettings): string {
  const path = encodeKey(key);
  if (settings.publicBaseUrl !== undefined) return `${settings.publicBaseUrl.replace(/\/+$/, '')}/${path}`;
  return `${bucketUrl(settings)}/${path}`;
}

/**
 * Where clients reach the bucket (no trailing slash): the public endpoint, else the endpoint, else
 * AWS. Path-style when the connection forces it, and on AWS for dotted bucket names (the wildcard
 * certificate does not cover `a.b.s3…`).
 */
export function bucketUrl(settings: Omit<PublicUrlSettings, 'publicBaseUrl'>): string {
  const endpoint = settings.publicEndpoint ?? settings.endpoint;
  if (endpoint === undefined) {
    const host = `s3.${settings.region}.amazonaws.com`;
    return settings.forcePathStyle || settings.bucket.includes('.')
      ? `https://${host}/${settings.bucket}`
      : `https://${settings.bucket}.${host}`;
  }
  const url = new URL(endpoint);
  const base = url.pathname.replace(/\/+$/, '');
  return settings.forcePathStyle
    ? `${url.protocol}//${url.host}${base}/${settings.bucket}`
    : `${url.protocol}//${settings.bucket}.${url.host}${base}`;
}

/** Seconds a presigned URL may live: as asked, within SigV4's limit and the credentials' own expiry. */
export function clampExpiry(requestedSeconds: number, now: number, credentialsExpiration?: Date): number {
  let seconds = Math.min(Math.floor(requestedSeconds), MAX_PRESIGN_SECONDS);
  if (credentialsExpiration !== undefined) {
    seconds = Math.min(seconds, Math.floor((credentialsExpiration.getTime() - now) / 1000));
  }
  return Math.max(seconds, 1);
}

/**
 * A presigned GET; the URL is a bearer token, so it is returned and never logged. `sign` is the
 * driver's query signer (query-signer.ts), addressed to the endpoint clients use.
 */
export async function presignGet(
  context: S3Context,
  sign: QuerySigner,
  input: PresignInput,
): Promise<{ url: string; expiresAt: Date }> {
  try {
    const credentials = await context.presignClient.config.credentials();
    // SigV4 dates have whole seconds; expiresAt is exact only from a whole-second signing date.
    const signingDate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const expiresIn = clampExpiry(input.expiresInSeconds, signingDate.getTime(), credentials.expiration);
    // S3 cannot be asked for nosniff or a CSP; what it can be made to do is answer with the type and
    // disposition that were true at signing, whatever the key holds by the time the URL is used.
    const url = sign({
      key: input.key,
      expiresIn,
      signingDate,
      credentials,
      responseContentDisposition: input.contentDisposition ?? input.signedFor?.contentDisposition,
      responseContentType: input.signedFor?.contentType,
    });
    return { url, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000) };
  } catch (error) {
    throw toAppError(error, { operation: 'PresignGetObject' });
  }
}
