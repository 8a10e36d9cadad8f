import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { isAppError } from '../../errors.ts';
import { identify, objectMetadata, SNIFF_BYTES } from '../../storage/intake.ts';
import { peek } from '../../storage/peek.ts';
import type { OpenUpload, ResumableStore } from '../../storage/resumable/store.ts';
import { promotedObject } from '../promoted-object.ts';
import { requestBodyStream } from '../request-body.ts';
import { storedObject } from '../schemas.ts';
import type { Found } from './found-upload.ts';

/** The stored object, as a form upload reports it; a checksum of bytes sent over many requests is not kept. */
export const resumableObject = storedObject.omit({ checksum: true });

/**
 * Streams the request body into the upload through one admitted part buffer. A type the storage
 * refuses (sniffed from the upload's first bytes) terminates the upload: 415, nothing kept.
 */
export async function append(
  request: FastifyRequest,
  reply: FastifyReply,
  found: Found,
  state: OpenUpload,
): Promise<z.infer<typeof resumableObject> | undefined> {
  const { storage, store, ticket, upload } = found;
  let body: Readable = requestBodyStream(request.raw);
  const refuse = async (error: unknown): Promise<never> => {
    if (
      isAppError(error) &&
      (error.code === 'UNSUPPORTED_MEDIA_TYPE' || error.code === 'CONTENT_TYPE_MISMATCH')
    ) {
      await store
        .terminate(upload, state)
        .catch((cause: unknown) => request.log.warn({ err: cause }, 'could not terminate a refused upload'));
    }
    throw error;
  };
  if (state.offset === 0) {
    // The type is decided by the first bytes: refuse it before anything is stored.
    const peeked = await peek(body, SNIFF_BYTES);
    body = peeked.body;
    if (peeked.head.length >= Math.min(SNIFF_BYTES, ticket.length))
      await identify(storage.profile, peeked.head, ticket.filetype).catch(refuse);
  }
  const admitted = await found.admission.admit(
    storage,
    ticket.principal,
    { atMost: Math.min(upload.partSize, upload.length), overwrite: false },
    request.raw,
  );
  let result: Awaited<ReturnType<ResumableStore['append']>>;
  try {
    result = await store
      .append({
        upload,
        state,
        body,
        bodyLength: declaredLength(request),
        buffer: admitted.buffer,
        signal: admitted.signal,
        describe: async (head) => {
          const { contentType } = await identify(storage.profile, head, ticket.filetype);
          return objectMetadata(storage.profile, contentType, ticket.filename, ticket.key);
        },
      })
      .catch(refuse);
  } finally {
    admitted.release();
  }
  reply.header('upload-offset', result.offset);
  if (!result.finished) return undefined;
  const info = await storage.driver.head(upload.key);
  return promotedObject(request, found, storage, { key: ticket.key, info }, ticket.principal);
}

/** Content-Length, when the request declares one (a chunked body has none). */
function declaredLength(request: FastifyRequest): number | undefined {
  const declared = Number(request.headers['content-length']);
  return request.headers['content-length'] !== undefined && Number.isSafeInteger(declared) && declared >= 0
    ? declared
    : undefined;
}
