// Stowage's HTTP API as the integration tests call it: one function per route, over real fetch, with
// the answer read and parsed. Takes the `useStowage` handle and reads its URL at call time.

import type { StoredObject } from '../../src/storage/intake.ts';

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** What an upload answers per stored object (as intake.ts makes it), or the error. */
export type Stored = StoredObject & { error?: ErrorBody };

export interface Link {
  url: string;
  expiresAt: string | null;
  expiresIn: number | null;
  error?: ErrorBody;
}

export interface Page {
  objects: Array<{ key: string; size: number; etag: string; lastModified: string }>;
  nextCursor?: string;
  error?: ErrorBody;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  json: T;
}

async function answer<T>(response: Response): Promise<Answer<T>> {
  return { status: response.status, headers: response.headers, json: (await response.json()) as T };
}

/** Keys go into the path as they are stored: each segment percent-encoded, the `/` kept. */
const keyPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

export function stowageApi(stowage: { readonly url: string }) {
  const storages = (storage: string) => `${stowage.url}/v1/storages/${storage}`;
  return {
    /** POST …/objects: a multipart form (or any body, to see it refused). */
    upload: async (storage: string, body: FormData | string, headers: Record<string, string> = {}) =>
      answer<{ objects: Stored[]; error?: ErrorBody }>(
        await fetch(`${storages(storage)}/objects`, { method: 'POST', body, headers }),
      ),

    /** PUT …/objects/{key}: a raw body, `application/octet-stream` unless a content-type is given. */
    put: async (storage: string, key: string, body: Buffer, headers: Record<string, string> = {}) =>
      answer<Stored>(
        await fetch(`${storages(storage)}/objects/${keyPath(key)}`, {
          method: 'PUT',
          body,
          headers: { 'content-type': 'application/octet-stream', ...headers },
        }),
      ),

    /** GET (or HEAD, DELETE) …/objects/{key}: the raw response, body unread. */
    object: (storage: string, key: string, init: RequestInit = {}) =>
      fetch(`${storages(storage)}/objects/${keyPath(key)}`, init),

    list: async (storage: string, query: Record<string, string> = {}) =>
      answer<Page>(await fetch(`${storages(storage)}/objects?${new URLSearchParams(query)}`)),

    /** POST …/urls */
    urlFor: async (storage: string, body: Record<string, unknown>) =>
      answer<Link>(
        await fetch(`${storages(storage)}/urls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      ),
  };
}

export const bytesOf = async (response: Response): Promise<Buffer> =>
  Buffer.from(await response.arrayBuffer());

export const errorOf = async (response: Response): Promise<ErrorBody | undefined> =>
  ((await response.json()) as { error?: ErrorBody }).error;

export const errorCodeOf = async (response: Response): Promise<string | undefined> =>
  (await errorOf(response))?.code;
