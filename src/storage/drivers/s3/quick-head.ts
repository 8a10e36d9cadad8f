import type { ObjectInfo } from '../../driver.ts';
import { createBucketEndpoint } from './bucket-endpoint.ts';
import type { S3Context } from './context.ts';
import { toAppError } from './errors.ts';
import { fromHttpHeaders, isReservation, type S3ObjectHeaders, toObjectInfo } from './metadata.ts';
import { headObject, notFound } from './read.ts';
import { createHeaderSigner, encodeKeyPath, type SigningCredentials } from './sigv4.ts';

/**
 * HeadObject without the SDK's per-call machinery, for the HEAD behind every download link (and the
 * HEAD route). Through the SDK a HEAD costs ≈ 0.9 ms of Stowage CPU, and the SDK's undici handler
 * opens a new connection for each one (undici closes the socket after a HEAD unless told `reset:
 * false`, which the handler never says): ≈ 1.6 ms, and S3 pays for a TCP accept per link. Signed
 * here (header SigV4, sigv4.ts) and sent on a keep-alive agent (bucket-endpoint.ts), it costs
 * ≈ 0.25 ms (bench/README, "Links").
 *
 * Only the two plain answers are taken from this path: 200 (the object's headers) and 404 (absent;
 * a HEAD has no body, so the SDK cannot tell NoSuchKey from NoSuchBucket either). Anything else — 403,
 * 5xx, a redirect, a refused or reset connection — is asked again through the SDK (`headObject`),
 * whose retries and error mapping (errors.ts) stay the one place S3 failures are understood. A HEAD
 * that times out is not asked again (that would double the request deadline): it is a timeout.
 */

export interface QuickHeadSettings {
  /** The bucket as Stowage reaches it (the internal endpoint), path-style path included. */
  bucketUrl: string;
  region: string;
  credentials: () => Promise<SigningCredentials>;
  /** The connection's request timeout: past it (no answer, or a stall) the HEAD fails with TimeoutError. */
  timeoutMs: number;
}

/** The object's headers; null when S3 answered 404; undefined when the SDK must be asked. */
export type QuickHead = ((key: string) => Promise<S3ObjectHeaders | null | undefined>) & { close(): void };

export function createQuickHead(settings: QuickHeadSettings): QuickHead {
  const endpoint = createBucketEndpoint(settings.bucketUrl, settings.timeoutMs, 'HEAD');
  const sign = createHeaderSigner(endpoint.host, settings.region);

  const head = async (key: string): Promise<S3ObjectHeaders | null | undefined> => {
    let credentials: SigningCredentials;
    try {
      credentials = await settings.credentials();
    } catch {
      return undefined;
    }
    const path = `${endpoint.basePath}/${encodeKeyPath(key)}`;
    const response = await endpoint.send('HEAD', path, sign('HEAD', path, credentials), undefined);
    if (response === undefined) return undefined;
    response.resume();
    const status = response.statusCode;
    return status === 200 ? fromHttpHeaders(response.headers) : status === 404 ? null : undefined;
  };
  return Object.assign(head, { close: () => endpoint.close() });
}

/** The driver's head: the quick path, and the SDK when it cannot answer plainly. */
export async function quickHeadObject(
  context: S3Context,
  quick: QuickHead,
  key: string,
): Promise<ObjectInfo> {
  let found: S3ObjectHeaders | null | undefined;
  try {
    found = await quick(key);
  } catch (error) {
    throw toAppError(error, { operation: 'HeadObject' });
  }
  if (found === undefined) return headObject(context, key);
  if (found === null || isReservation(found.Metadata)) throw notFound('HeadObject');
  return toObjectInfo(key, found);
}
