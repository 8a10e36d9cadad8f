import type { ObjectInfo, ObjectMetadata } from '../../driver.ts';

/**
 * How Stowage's object metadata maps onto S3: standard headers for what HTTP knows, `x-amz-meta-*`
 * for the rest. S3 user metadata must be ASCII (and the SDK returns the keys lower-cased), so the
 * original filename is stored percent-encoded.
 */

export const metaKeys = {
  originalName: 'original-name',
  sha256: 'sha256',
  /** Marks a create-only reservation (see create-only.ts); the value is its expiry in epoch ms. */
  reservation: 'stowage-reservation',
  /** A random id per create-only write, so a write that lands after we gave up can be told apart (create-only.ts). */
  writeId: 'stowage-write',
} as const;

/**
 * The longest metadata value every S3 server we know takes: Swift's s3api refuses a value over 256
 * bytes (AWS allows 2 KB for all user metadata together; ours, besides the name, is under 150 bytes).
 */
export const MAX_METADATA_VALUE_BYTES = 256;

/**
 * The original filename as stored: percent-encoded, and cut on a character boundary so the encoding
 * fits MAX_METADATA_VALUE_BYTES (a sanitized name may take 1.5 KB encoded; 29 CJK characters already
 * exceed 256 bytes). Nothing is lost for readers: the full name is in the stored Content-Disposition,
 * which is a standard header, not user metadata.
 */
export function encodeOriginalName(name: string, maxBytes = MAX_METADATA_VALUE_BYTES): string {
  let encoded = '';
  // Code points, well-formed: encodeURIComponent throws on a lone surrogate.
  for (const char of name.toWellFormed()) {
    const next = encodeURIComponent(char);
    if (encoded.length + next.length > maxBytes) break;
    encoded += next;
  }
  return encoded;
}

export function toS3Metadata(metadata: ObjectMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  if (metadata.originalName !== undefined)
    out[metaKeys.originalName] = encodeOriginalName(metadata.originalName);
  if (metadata.sha256 !== undefined) out[metaKeys.sha256] = metadata.sha256;
  return out;
}

/** The original filename, or the raw value when it is not valid percent-encoding (written by someone else). */
export function decodeOriginalName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export const isReservation = (metadata: Record<string, string> | undefined): boolean =>
  metadata?.[metaKeys.reservation] !== undefined;

/** Expiry (epoch ms) of a reservation; NaN-safe: an unreadable value counts as expired. */
export function reservationExpiry(metadata: Record<string, string> | undefined): number {
  const expiry = Number(metadata?.[metaKeys.reservation]);
  return Number.isFinite(expiry) ? expiry : 0;
}

/** HTTP entity tags are quoted; S3 returns them quoted, but be lenient with servers that do not. */
export function quoteEtag(etag: string): string {
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`;
}

/** Compares entity tags regardless of quoting. */
export const sameEtag = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.replace(/^"|"$/g, '') === b.replace(/^"|"$/g, '');

/**
 * If-None-Match evaluation (weak comparison, RFC 9110 §13.1.2): `*` or any listed tag equal to `etag`.
 * Done by the driver too because servers differ: Ceph RGW only honours a single tag.
 */
export function noneMatchHits(header: string, etag: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  const target = bare(etag);
  return header.split(',').some((tag) => tag.trim() === '*' || (tag.trim() !== '' && bare(tag) === target));
}

/** The fields HeadObject and GetObject responses share. */
export interface S3ObjectHeaders {
  ContentLength?: number | undefined;
  ETag?: string | undefined;
  LastModified?: Date | undefined;
  ContentType?: string | undefined;
  CacheControl?: string | undefined;
  ContentDisposition?: string | undefined;
  Metadata?: Record<string, string> | undefined;
}

const META_PREFIX = 'x-amz-meta-';

/** HeadObject's (or GetObject's) output fields, as the SDK deserialises them from the same headers. */
export function fromHttpHeaders(headers: Record<string, string | string[] | undefined>): S3ObjectHeaders {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(META_PREFIX) && value !== undefined)
      metadata[name.slice(META_PREFIX.length)] = Array.isArray(value) ? value.join(', ') : value;
  }
  const length = one('content-length');
  const modified = one('last-modified');
  return {
    ContentLength: length === undefined ? undefined : Number(length),
    ETag: one('etag'),
    LastModified: modified === undefined ? undefined : new Date(modified),
    ContentType: one('content-type'),
    CacheControl: one('cache-control'),
    ContentDisposition: one('content-disposition'),
    Metadata: metadata,
  };
}

export function toObjectInfo(
  key: string,
  headers: S3ObjectHeaders,
  size = headers.ContentLength ?? 0,
): ObjectInfo {
  const meta = headers.Metadata ?? {};
  const originalName = decodeOriginalName(meta[metaKeys.originalName]);
  const sha256 = meta[metaKeys.sha256];
  return {
    key,
    size,
    etag: quoteEtag(headers.ETag ?? ''),
    lastModified: headers.LastModified ?? new Date(0),
    contentType: headers.ContentType ?? 'application/octet-stream',
    ...(headers.CacheControl !== undefined && { cacheControl: headers.CacheControl }),
    ...(headers.ContentDisposition !== undefined && { contentDisposition: headers.ContentDisposition }),
    ...(originalName !== undefined && { originalName }),
    ...(sha256 !== undefined && { sha256 }),
  };
}

/** Parses `bytes start-end/total` (the total may be `*` when unknown). */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return undefined;
  const [, start, end, total] = match;
  return { start: Number(start), end: Number(end), total: total === '*' ? undefined : Number(total) };
}
