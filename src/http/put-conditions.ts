import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../errors.ts';
import { backendKey, type Storage } from '../storage/storage.ts';
import { etagMatches } from './serve-object.ts';

/**
 * Conditional PUT (RFC 9110 §13.1.1–2), turned into what the driver decides atomically:
 * - `If-None-Match: *` ⇒ create-only for this request, whatever the storage's overwrite policy;
 * - `If-Match` (tags or `*`), and `If-None-Match` with tags ⇒ the current object is looked up and the
 *   condition evaluated, then the write may replace only that very object (the driver's `ifMatch`,
 *   atomic where the backend allows): one changed in between fails with 412 too. Absent and the
 *   condition holds (If-None-Match with tags) ⇒ create-only.
 * Weak tags never match If-Match (strong comparison, §8.8.3.2). A taken key under a precondition
 * is 412 PRECONDITION_FAILED, also on create-only storages: the client asked a precondition, and
 * that is its answer; without one a create-only storage still answers 409 OBJECT_EXISTS. If-Match
 * on a create-only storage can never let a write through: 412 when it fails, else 409.
 */
export interface WritePlan {
  overwrite: boolean;
  /** The ETag the stored object must still have when it is replaced. */
  ifMatch?: string;
  /** The client sent a precondition: OBJECT_EXISTS from the driver is answered 412. */
  conditional: boolean;
}

export async function planWrite(
  storage: Storage,
  key: string,
  headers: IncomingHttpHeaders,
): Promise<WritePlan> {
  const ifMatch = headerValue(headers['if-match']);
  const ifNoneMatch = headerValue(headers['if-none-match']);
  if (ifMatch === undefined && ifNoneMatch === undefined)
    return { overwrite: storage.profile.overwrite, conditional: false };
  if (ifNoneMatch === '*') {
    // With If-Match too, one of the two fails whatever is stored (§13.2.2: If-Match first).
    if (ifMatch !== undefined) throw preconditionFailed();
    return { overwrite: false, conditional: true };
  }
  const current = await currentEtag(storage, key);
  if (ifMatch !== undefined && (current === undefined || !strongMatch(ifMatch, current)))
    throw preconditionFailed();
  if (ifNoneMatch !== undefined && current !== undefined && etagMatches(ifNoneMatch, current))
    throw preconditionFailed();
  if (current === undefined) return { overwrite: false, conditional: true };
  if (!storage.profile.overwrite)
    throw new AppError(
      'OBJECT_EXISTS',
      'An object with this key already exists and this storage never replaces one',
    );
  return { overwrite: true, ifMatch: current, conditional: true };
}

export const preconditionFailed = (cause?: unknown) =>
  new AppError('PRECONDITION_FAILED', 'The stored object does not satisfy the request’s preconditions', {
    cause,
  });

function headerValue(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value.join(', ') : value;
  return joined === undefined || joined.trim() === '' ? undefined : joined.trim();
}

async function currentEtag(storage: Storage, key: string): Promise<string | undefined> {
  try {
    return (await storage.driver.head(backendKey(storage, key))).etag;
  } catch (error) {
    if (error instanceof AppError && error.code === 'OBJECT_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * If-Match: `*`, or a list of entity tags compared strongly with the stored one. Unquoted tags are
 * taken as strong ones (S3 tools print ETags both ways).
 */
export function strongMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  if (etag.startsWith('W/')) return false;
  const bare = (tag: string) => tag.replace(/^"|"$/g, '');
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag !== '' && !tag.startsWith('W/') && bare(tag) === bare(etag));
}
