import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { combineRanges, parse as parseRange } from 'range-parser';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { ByteRange } from '../../storage/driver.ts';
import { validateKey } from '../../storage/keys.ts';
import { backendKey, type Storage } from '../../storage/storage.ts';
import { findStorage, type RouteContext } from '../context.ts';
import { setObjectHeaders } from '../object-headers.ts';
import { commonErrors, errorResponse, objectParams } from '../schemas.ts';

/** GET, HEAD and DELETE of one object. (PUT lives in put.ts: it needs its own body parsing.) */
export const objectRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.get(
    '/v1/storages/:storage/objects/*',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'Download an object (supports Range and If-None-Match)',
        params: objectParams,
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...commonErrors, 416: errorResponse },
      },
    },
    async (request, reply) => {
      const storage = findStorage(context, request.params.storage);
      const key = backendKey(storage, validateKey(request.params['*']));
      const ifNoneMatch = request.headers['if-none-match'];
      const range = request.headers.range ? await resolveRange(storage, key, request.headers) : undefined;
      if (range === 'not-modified') return reply.code(304).send(null);

      const abort = new AbortController();
      request.raw.once('close', () => abort.abort());
      const result = await storage.driver.get({
        key,
        ...(range && { range }),
        ...(ifNoneMatch && { ifNoneMatch }),
        signal: abort.signal,
      });
      if (result.notModified) return reply.code(304).header('etag', result.info.etag).send(null);
      setObjectHeaders(reply, result.info);
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
    },
  );

  app.head(
    '/v1/storages/:storage/objects/*',
    { schema: { summary: 'Object metadata', params: objectParams } },
    async (request, reply) => {
      const storage = findStorage(context, request.params.storage);
      const info = await storage.driver.head(backendKey(storage, validateKey(request.params['*'])));
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch && etagMatches(ifNoneMatch, info.etag))
        return reply.code(304).header('etag', info.etag).send(null);
      return setObjectHeaders(reply, info).header('content-length', info.size).send(null);
    },
  );

  app.delete(
    '/v1/storages/:storage/objects/*',
    {
      schema: {
        summary: 'Delete an object (idempotent)',
        params: objectParams,
        response: { 204: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const storage = findStorage(context, request.params.storage);
      await storage.driver.delete(backendKey(storage, validateKey(request.params['*'])));
      request.log.info({ storage: storage.name, key: request.params['*'] }, 'deleted object');
      return reply.code(204).send(null);
    },
  );
};

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const weakless = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => weakless(tag) === weakless(etag));
}

/**
 * Resolves a Range header against the object's current size (a HEAD first: suffix ranges and
 * unsatisfiable ranges need the size, and If-Range needs the ETag). Multiple ranges are answered
 * with the whole object, which RFC 9110 allows; a malformed one is a 400 INVALID_RANGE.
 */
async function resolveRange(
  storage: Storage,
  key: string,
  headers: Record<string, string | string[] | undefined>,
): Promise<ByteRange | 'not-modified' | undefined> {
  const info = await storage.driver.head(key);
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string' && etagMatches(ifNoneMatch, info.etag)) return 'not-modified';
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
  return ranges.length === 1 && only ? { start: only.start, end: only.end } : undefined;
}
