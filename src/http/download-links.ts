import type { Scope } from '../auth/authorize.ts';
import { requireInScope } from '../auth/authorize.ts';
import { AppError } from '../errors.ts';
import { isSafeInline } from '../storage/content-type.ts';
import { dispositionHeader, servedDisposition } from '../storage/disposition.ts';
import { validateKey } from '../storage/keys.ts';
import { backendKey, type Storage } from '../storage/storage.ts';

/**
 * Download links, one or many (POST /v1/storages/{storage}/urls). Each link costs one check on the
 * backend (unless the profile says `presign.check: none`, below), the object's HEAD, which answers both questions a link needs: does the object exist (no
 * links to nothing), and what type is it — which decides inline or attachment and is pinned into a
 * presigned S3 URL, so an object swapped for HTML after signing is still served as what it was
 * (issue 7, test/contract/swapped-links.test.ts). Signing is local and cheap (query-signer.ts).
 */

export interface Link {
  url: string;
  /** ISO time; null for a public URL, which does not expire. */
  expiresAt: string | null;
  expiresIn: number | null;
}

export interface LinkRequest {
  /** The caller's key (relative to the storage). */
  key: string;
  /** Seconds asked for; clamped to the profile's maximum. */
  expiresIn: number | undefined;
  /** Download filename (already sanitised), for the single form only. */
  filename?: string | undefined;
}

/** A link for one key of `storage`; relative local URLs are made absolute by `absolute`. */
export async function issueLink(
  storage: Storage,
  scope: Scope,
  request: LinkRequest,
  absolute: (url: string) => string,
): Promise<Link> {
  const { profile, driver } = storage;
  const key = backendKey(storage, requireInScope(scope, validateKey(request.key)));
  if (profile.presign.check === 'none') return uncheckedLink(storage, key, request, absolute);
  const info = await driver.head(key);
  if (profile.access === 'public') {
    return { url: absolute(driver.publicUrl(key)), expiresAt: null, expiresIn: null };
  }
  const expiresIn = linkLifetime(storage, request);
  const dispositionType = isSafeInline(info.contentType) ? profile.contentDisposition : 'attachment';
  const signed = await driver.presignGet({
    key,
    expiresInSeconds: expiresIn,
    ...(request.filename !== undefined && {
      contentDisposition: dispositionHeader(request.filename, dispositionType),
    }),
    signedFor: {
      contentType: info.contentType,
      contentDisposition: servedDisposition(info.contentType, info.contentDisposition) ?? dispositionType,
    },
  });
  return signedLink(signed, expiresIn, absolute);
}

/**
 * `presign.check: none`: no request to S3. Without the object's type nothing can decide inline, so a
 * private link is pinned to `attachment` (issue 7's guarantee holds: whatever the key holds when the
 * link is used, a browser never renders it as a page); the stored type is served as it is.
 */
async function uncheckedLink(
  storage: Storage,
  key: string,
  request: LinkRequest,
  absolute: (url: string) => string,
): Promise<Link> {
  const { profile, driver } = storage;
  if (profile.access === 'public') {
    return { url: absolute(driver.publicUrl(key)), expiresAt: null, expiresIn: null };
  }
  const expiresIn = linkLifetime(storage, request);
  const signed = await driver.presignGet({
    key,
    expiresInSeconds: expiresIn,
    contentDisposition:
      request.filename !== undefined ? dispositionHeader(request.filename, 'attachment') : 'attachment',
  });
  return signedLink(signed, expiresIn, absolute);
}

const linkLifetime = ({ profile }: Storage, request: LinkRequest): number =>
  Math.min(request.expiresIn ?? profile.presign.defaultTtl, profile.presign.maxTtl);

function signedLink(
  signed: { url: string; expiresAt: Date },
  expiresIn: number,
  absolute: (url: string) => string,
): Link {
  const effective = Math.max(0, Math.round((signed.expiresAt.getTime() - Date.now()) / 1000));
  return {
    url: absolute(signed.url),
    expiresAt: signed.expiresAt.toISOString(),
    expiresIn: Math.min(expiresIn, effective),
  };
}

export type LinkOutcome =
  | ({ key: string } & Link)
  | { key: string; error: { code: string; message: string } };

/** The most keys one request may ask links for. */
export const MAX_LINKS_PER_REQUEST = 1000;

/**
 * HEADs one bulk request keeps in flight. Enough to hide S3's latency (a HEAD is ~1 ms on Ceph here),
 * few enough that one request of 1000 keys cannot take the whole connection pool from other requests.
 */
export const LINK_CHECKS_IN_FLIGHT = 16;

/**
 * Links for many keys, in the order given, each its own result or error (a key that is invalid,
 * outside the caller's scope or missing fails alone). Failures that are not the catalogue's (bugs)
 * fail the whole request.
 */
export async function issueLinks(
  storage: Storage,
  scope: Scope,
  keys: readonly string[],
  expiresIn: number | undefined,
  absolute: (url: string) => string,
): Promise<LinkOutcome[]> {
  const outcomes = new Array<LinkOutcome>(keys.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < keys.length && !failed) {
      const index = next++;
      const key = keys[index] as string;
      try {
        outcomes[index] = { key, ...(await issueLink(storage, scope, { key, expiresIn }, absolute)) };
      } catch (error) {
        if (!(error instanceof AppError)) {
          failed = true; // the other workers stop taking keys
          throw error;
        }
        outcomes[index] = { key, error: { code: error.code, message: error.message } };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LINK_CHECKS_IN_FLIGHT, keys.length) }, worker));
  return outcomes;
}
