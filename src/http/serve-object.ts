import type { FastifyReply, FastifyRequest } from 'fastify';
import { combineRanges, parse as parseRange } from 'range-parser';
import { AppError } from '../errors.ts';
import type { ByteRange, ObjectInfo } from '../storage/driver.ts';
import type { Storage } from '../storage/storage.ts';
import { setObjectHeaders } from './object-headers.ts';

/**
 * Streams one object to the client: Range ⇒ 206, If-None-Match ⇒ 304, the stored headers, and the
 * body piped straight from the driver (a client that disconnects stops the backend read).
 * Used by the object route and by the local driver's link routes.
 */
export async function serveObject(
  request: FastifyRequest,
  reply: FastifyReply,
  storage: Storage,
  key: string,
  options: { contentDisposition?: string } = {},
): Promise<FastifyReply> {
  // Conditional and ranged reads are decided here from a HEAD, the same way for every driver (S3
  // servers differ on unquoted tags and `*`); a plain GET goes straight to the backend.
  const { headers } = request;
  const decided =
    headers.range || headers['if-none-match'] ? await preflight(storage, key, headers) : undefined;
  if (decided?.notModified) return notModified(reply, decided.notModified);
  const range = decided?.range;

  // The response closing before it finished means the client left: stop reading from the backend.
  // (Not request 'close': for a bodiless GET that fires as soon as the request is read.)
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const result = await storage.driver.get({ key, ...(range && { range }), signal: abort.signal });
  if (result.notModified) return notModified(reply, result.info);
  setObjectHeaders(reply, result.info, options);
  if (result.range) {
    const { start, end, total } = result.range;
    reply
      .code(206)
      .header('content-range', `bytes ${start}-${end}/${total}`)
      .header('content-length', end - start + 1);
  } else {
    reply.header('content-length', result.info.size);
  }
  return reply.send(result.body);
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2); `*` matches any existing object. */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const weakless = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => weakless(tag) === weakless(etag));
}

/**
 * 304 carries the validator and the caching rule the 200 would have had (RFC 9110 §15.4.5: without
 * Cache-Control a cache would fall back to heuristics for the refreshed copy), no body headers. Sent
 * without a payload (not `null`, which would be serialised as JSON with its Content-Type); typed as a
 * plain reply since no schema describes "no body".
 */
export function notModified(
  reply: FastifyReply,
  info: Pick<ObjectInfo, 'etag' | 'cacheControl'>,
): FastifyReply {
  if (info.cacheControl) reply.header('cache-control', info.cacheControl);
  return reply.code(304).header('etag', info.etag).send();
}

/** A reply without a body (HEAD, 204): no payload, so nothing is serialised and no JSON type is set. */
export const emptyReply = (reply: FastifyReply): FastifyReply => reply.send();

/**
 * Resolves a Range header against the object's current size (a HEAD first: suffix ranges and
 * unsatisfiable ranges need the size, and If-Range needs the ETag). Multiple ranges are answered
 * with the whole object, which RFC 9110 allows; a malformed one is a 400 INVALID_RANGE.
 */
async function preflight(
  storage: Storage,
  key: string,
  headers: FastifyRequest['headers'],
): Promise<{ range?: ByteRange; notModified?: ObjectInfo } | undefined> {
  const info = await storage.driver.head(key);
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string' && etagMatches(ifNoneMatch, info.etag)) return { notModified: info };
  if (!headers.range) return undefined;
  const ifRange = headers['if-range'];
  if (typeof ifRange === 'string' && ifRange.trim() !== info.etag) return undefined;
  const parsed = parseRange(info.size, String(headers.range));
  // Units other than bytes are ignored, as RFC 9110 requires.
  if (parsed.type !== 'bytes') return undefined;
  if (parsed.code & 1)
    throw new AppError('INVALID_RANGE', 'malformed Range header (expected e.g. "bytes=0-1023")');
  if (parsed.ranges.length === 0) {
    if (info.size === 0) return undefined;
    throw new AppError('RANGE_NOT_SATISFIABLE', `the range is outside the object (${info.size} bytes)`, {
      headers: { 'content-range': `bytes */${info.size}` },
    });
  }
  const ranges = combineRanges(parsed.ranges);
  const [only] = ranges;
  return ranges.length === 1 && only ? { range: { start: only.start, end: only.end } } : undefined;
}
