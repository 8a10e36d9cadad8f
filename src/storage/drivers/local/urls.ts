import type { LinkSigner, SignedLink } from './signed-links.ts';

/**
 * The URLs the local driver hands out. Both point back at this service:
 *   signed link  `${baseUrl}/v1/links/${storage}/${key}?expires=…[&disposition=…]&signature=…`
 *   public URL   `${baseUrl}/v1/public/${storage}/${key}`
 * The key is the backend key (profile prefix included), each segment percent-encoded; the route
 * decodes the path once, rebuilds the link with `readLinkQuery` and checks it with `LinkSigner.verify`.
 */

/** Percent-encodes each segment, keeping the `/` separators. */
export const encodeKeyPath = (key: string): string => key.split('/').map(encodeURIComponent).join('/');

export function signedLinkUrl(
  signer: LinkSigner,
  link: {
    baseUrl: string;
    storage: string;
    key: string;
    expiresAtEpochSeconds: number;
    disposition?: string | undefined;
  },
): string {
  const { baseUrl, storage, key, expiresAtEpochSeconds, disposition } = link;
  const query = new URLSearchParams({ expires: String(expiresAtEpochSeconds) });
  if (disposition !== undefined) query.set('disposition', disposition);
  query.set('signature', signer.sign(storage, key, expiresAtEpochSeconds, disposition));
  return `${baseUrl}/v1/links/${encodeURIComponent(storage)}/${encodeKeyPath(key)}?${query}`;
}

export const publicObjectUrl = (baseUrl: string, storage: string, key: string): string =>
  `${baseUrl}/v1/public/${encodeURIComponent(storage)}/${encodeKeyPath(key)}`;

/**
 * The link a request carries, from its decoded path parameters and query string; undefined when a
 * field is missing or malformed (answer 403 as for a bad signature).
 */
export function readLinkQuery(
  storage: string,
  key: string,
  query: Record<string, unknown> | URLSearchParams,
): SignedLink | undefined {
  const field = (name: string) => {
    const value = query instanceof URLSearchParams ? (query.get(name) ?? undefined) : query[name];
    return typeof value === 'string' ? value : undefined;
  };
  const expires = field('expires');
  const signature = field('signature');
  if (expires === undefined || !/^\d{1,15}$/.test(expires) || signature === undefined) return undefined;
  return {
    storage,
    key,
    expiresAtEpochSeconds: Number(expires),
    disposition: field('disposition'),
    signature,
  };
}
