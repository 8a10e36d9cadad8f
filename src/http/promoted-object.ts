import type { FastifyRequest } from 'fastify';
import type { ObjectInfo } from '../storage/driver.ts';
import type { Storage } from '../storage/storage.ts';
import { absoluteUrl } from './absolute-url.ts';
import type { RouteContext } from './context.ts';
import { withReceipt } from './receipt-for.ts';

/**
 * The upload answer for an object Stowage did not stream itself in this request (a resumable upload's
 * last PATCH, a direct upload's finalize): what the stored object says, as a form upload reports it —
 * without `checksum`, since no one request saw all the bytes — and its signed receipt.
 */
export function promotedObject(
  request: FastifyRequest,
  context: Pick<RouteContext, 'receipts' | 'publicBaseUrl'>,
  storage: Storage,
  /** The API key (without the storage prefix) and what the backend holds there. */
  stored: { key: string; info: ObjectInfo },
  uploader: string,
) {
  const { key, info } = stored;
  return withReceipt(context.receipts, uploader, {
    storage: storage.name,
    key,
    size: info.size,
    contentType: info.contentType,
    etag: info.etag,
    ...(info.originalName !== undefined && { originalName: info.originalName }),
    ...(storage.profile.access === 'public' && {
      url: absoluteUrl(request, storage.driver.publicUrl(info.key), context.publicBaseUrl),
    }),
  });
}
