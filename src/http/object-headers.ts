import type { FastifyReply } from 'fastify';
import { essence } from '../storage/content-type.ts';
import { servedDisposition } from '../storage/disposition.ts';
import type { ObjectInfo } from '../storage/driver.ts';

/**
 * Headers that describe a stored object on GET and HEAD. `nosniff` stops browsers second-guessing
 * the stored type; the Content-Disposition carries the original filename (RFC 6266/5987, written
 * at upload) or a link's download name, and is `attachment` for any type a browser could execute —
 * decided here, from the object as it is now, whatever the header said when it was made.
 * `Content-Security-Policy: sandbox` keeps anything that still renders (an SVG opened from a
 * download, an HTML page a browser shows despite all this) from running script or reaching this
 * origin. Not on inline PDFs: browsers refuse to run their PDF viewer in a sandboxed document
 * (crbug 41131921), and that viewer keeps PDF script away from the origin itself.
 */
export function setObjectHeaders(
  reply: FastifyReply,
  info: ObjectInfo,
  options: { contentDisposition?: string | undefined } = {},
): FastifyReply {
  reply.header('content-type', info.contentType);
  reply.header('etag', info.etag);
  reply.header('last-modified', info.lastModified.toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('x-content-type-options', 'nosniff');
  if (info.cacheControl) reply.header('cache-control', info.cacheControl);
  const disposition = servedDisposition(
    info.contentType,
    info.contentDisposition,
    options.contentDisposition,
  );
  if (disposition) reply.header('content-disposition', disposition);
  const inlinePdf =
    essence(info.contentType) === 'application/pdf' && !/^attachment/i.test(disposition ?? '');
  if (!inlinePdf) reply.header('content-security-policy', 'sandbox');
  return reply;
}
