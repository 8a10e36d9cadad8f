import type { FastifyReply } from 'fastify';
import type { ObjectInfo } from '../storage/driver.ts';

/**
 * Headers that describe a stored object on GET and HEAD. `nosniff` stops browsers second-guessing
 * the stored type; the stored Content-Disposition carries the original filename (RFC 6266/5987,
 * written at upload) and is `attachment` for any type a browser could execute.
 */
export function setObjectHeaders(reply: FastifyReply, info: ObjectInfo): FastifyReply {
  reply.header('content-type', info.contentType);
  reply.header('etag', info.etag);
  reply.header('last-modified', info.lastModified.toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('x-content-type-options', 'nosniff');
  if (info.cacheControl) reply.header('cache-control', info.cacheControl);
  if (info.contentDisposition) reply.header('content-disposition', info.contentDisposition);
  return reply;
}
