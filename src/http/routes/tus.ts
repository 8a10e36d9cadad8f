import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describePrincipal, type Principal } from '../../auth/principal.ts';
import { AppError, isAppError } from '../../errors.ts';
import { identify, objectMetadata, SNIFF_BYTES } from '../../storage/intake.ts';
import { chooseExtension, generateKey } from '../../storage/keys.ts';
import { tooLarge } from '../../storage/meter.ts';
import { peek } from '../../storage/peek.ts';
import type { OpenUpload, ResumableStore, ResumableUpload } from '../../storage/resumable/store.ts';
import {
  decodeUploadId,
  encodeUploadId,
  newWriteId,
  type UploadTicket,
} from '../../storage/resumable/upload-id.ts';
import { backendKey, type Storage } from '../../storage/storage.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { withReceipt } from '../receipt-for.ts';
import { requestBodyStream } from '../request-body.ts';
import { commonErrors, errorResponse, storageParams, storedObject } from '../schemas.ts';
import { emptyReply, serveObject } from '../serve-object.ts';
import {
  byteCount,
  OFFSET_STREAM,
  parseUploadMetadata,
  requireTusVersion,
  tusCapabilities,
  tusHeaders,
} from '../tus-headers.ts';

/**
 * Resumable uploads, tus 1.0.0 (creation, creation-with-upload, termination, expiration): POST
 * creates, HEAD/PATCH/DELETE work on `/v1/storages/{storage}/uploads/{id}`, GET there answers the
 * stored object once finished. The protocol and why it needs no shared state: the top of
 * src/storage/resumable/upload-id.ts.
 */
export interface TusContext extends RouteContext {
  /** MAC key for upload ids (upload-id.ts keyFor). */
  uploadIdKey: Buffer;
  expirySeconds: number;
}

const uploadParams = storageParams.extend({
  id: z.string().min(1).max(2048).meta({ description: 'The upload id from `Location`.' }),
});
/** The stored object, as a form upload reports it; a checksum of bytes sent over many requests is not kept. */
const resumableObject = storedObject.omit({ checksum: true });
const tusHeadersSchema = z.looseObject({
  'tus-resumable': z.string().optional().meta({ description: 'Must be `1.0.0` (all but OPTIONS).' }),
});

interface Found {
  storage: Storage;
  store: ResumableStore;
  ticket: UploadTicket;
  upload: ResumableUpload;
  principal: Principal;
  admission: RouteContext['uploads'];
  publicBaseUrl: string | undefined;
  receipts: RouteContext['receipts'];
}

export const tusRoutes: FastifyPluginAsyncZod<TusContext> = async (app, context) => {
  // PATCH bodies are read as streams, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const collection = '/v1/storages/:storage/uploads';
  const member = `${collection}/:id`;

  const discover = async (request: FastifyRequest<{ Params: { storage: string } }>, reply: FastifyReply) =>
    emptyReply(
      tusCapabilities(reply, context.storages.get(request.params.storage)?.profile.maxFileSize).code(204),
    );
  const options = { summary: 'tus discovery (no credentials needed)', response: { 204: z.null() } };
  app.options(collection, { schema: { ...options, params: storageParams } }, discover);
  app.options(member, { schema: { ...options, params: uploadParams } }, discover);

  app.post(
    collection,
    {
      schema: {
        summary: 'Create a resumable (tus) upload, optionally with its first bytes',
        params: storageParams,
        headers: tusHeadersSchema,
        response: {
          201: resumableObject.optional(),
          ...commonErrors,
          412: errorResponse,
          413: errorResponse,
          415: errorResponse,
        },
      },
    },
    async (request, reply) => {
      tusHeaders(reply);
      requireTusVersion(request.headers);
      const { storage, scope, principal } = await access(request, context, request.params.storage, 'write');
      const store = storeOf(storage);
      const length = byteCount(request.headers['upload-length'], 'Upload-Length');
      if (length > storage.profile.maxFileSize) throw tooLarge(storage.profile.maxFileSize);
      const { filename, filetype } = parseUploadMetadata(request.headers['upload-metadata']);
      const extension = filetype ? chooseExtension(undefined, filetype, filename) : undefined;
      const ticket: UploadTicket = {
        storage: storage.name,
        key: `${scope.keyPrefix}${generateKey(extension)}`,
        principal: describePrincipal(principal),
        length,
        partSize: store.partSize(length),
        expiresAt: Date.now() + context.expirySeconds * 1000,
        writeId: newWriteId(),
        ...(filename !== undefined && { filename }),
        ...(filetype !== undefined && { filetype }),
      };
      const found: Found = {
        storage,
        store,
        ticket,
        upload: toUpload(storage, ticket),
        principal,
        admission: context.uploads,
        publicBaseUrl: context.publicBaseUrl,
        receipts: context.receipts,
      };
      await store.begin(found.upload);
      const id = encodeUploadId(ticket, context.uploadIdKey);
      reply
        .header(
          'location',
          absoluteUrl(
            request,
            `/v1/storages/${encodeURIComponent(storage.name)}/uploads/${id}`,
            context.publicBaseUrl,
          ),
        )
        .header('upload-expires', new Date(ticket.expiresAt).toUTCString());
      logOnCompletion(request, { storage: storage.name, key: ticket.key });
      if (request.headers['content-type'] === OFFSET_STREAM && hasBody(request)) {
        const receipt = await append(request, reply, found, { status: 'open', offset: 0 });
        return reply.code(201).send(receipt);
      }
      if (length === 0)
        return reply.code(201).send(await append(request, reply, found, { status: 'open', offset: 0 }));
      return emptyReply(reply.code(201));
    },
  );

  app.head(
    member,
    {
      schema: {
        summary: 'The offset of a resumable upload',
        params: uploadParams,
        headers: tusHeadersSchema,
        response: { 200: z.null(), ...commonErrors, 410: errorResponse, 423: errorResponse },
      },
    },
    async (request, reply) => {
      const found = await findUpload(request, reply, context);
      const progress = await found.store.progress(found.upload).catch(unsure);
      reply.header('upload-length', found.ticket.length);
      if (progress.status === 'gone') throw uploadNotFound();
      const offset = progress.status === 'finished' ? found.ticket.length : progress.offset;
      return emptyReply(reply.code(200).header('upload-offset', offset));
    },
  );

  const patch = async (
    request: FastifyRequest<{ Params: { storage: string; id: string } }>,
    reply: FastifyReply,
  ) => {
    const found = await findUpload(request, reply, context);
    if (request.headers['content-type'] !== OFFSET_STREAM)
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `PATCH bodies must be ${OFFSET_STREAM}`);
    const offset = byteCount(request.headers['upload-offset'], 'Upload-Offset');
    const declared = Number(request.headers['content-length']);
    if (Number.isSafeInteger(declared) && offset + declared > found.ticket.length)
      throw pastLength(found.ticket.length);
    const lease = await found.store.lease(found.upload).catch(unsure);
    let receipt: Awaited<ReturnType<typeof append>>;
    let ended = false;
    try {
      receipt = await appendLeased(request, reply, found, offset);
    } catch (error) {
      ended = isAppError(error) && (error.code === 'UPLOAD_NOT_FOUND' || error.code === 'UPLOAD_FINISHED');
      throw error;
    } finally {
      // Before the answer: a client's next PATCH follows it at once.
      await lease.release(ended);
    }
    return receipt ? reply.code(200).send(receipt) : emptyReply(reply.code(204));
  };
  const appendLeased = async (request: FastifyRequest, reply: FastifyReply, found: Found, offset: number) => {
    const progress = await found.store.progress(found.upload).catch(unsure);
    if (progress.status === 'gone') throw uploadNotFound();
    if (progress.status === 'finished') throw finished();
    if (progress.offset !== offset) {
      throw new AppError('UPLOAD_OFFSET_MISMATCH', `the upload is at offset ${progress.offset}`, {
        details: { offset: progress.offset },
        headers: { 'upload-offset': String(progress.offset) },
      });
    }
    return append(request, reply, found, progress);
  };
  const patchSchema = {
    params: uploadParams,
    headers: tusHeadersSchema,
    response: {
      200: resumableObject,
      204: z.null(),
      ...commonErrors,
      409: errorResponse,
      410: errorResponse,
      412: errorResponse,
      415: errorResponse,
      423: errorResponse,
    },
  };
  app.patch(
    member,
    {
      schema: {
        summary: 'Append bytes at Upload-Offset (the last ones answer the stored object)',
        ...patchSchema,
      },
    },
    patch,
  );

  const terminate = async (
    request: FastifyRequest<{ Params: { storage: string; id: string } }>,
    reply: FastifyReply,
  ) => {
    const found = await findUpload(request, reply, context);
    const progress = await found.store.progress(found.upload);
    if (progress.status === 'gone') throw uploadNotFound();
    if (progress.status === 'finished') throw finished();
    await found.store.terminate(found.upload, progress);
    logOnCompletion(request, { storage: found.storage.name, key: found.ticket.key });
    return emptyReply(reply.code(204));
  };
  app.delete(
    member,
    {
      schema: {
        summary: 'Terminate a resumable upload',
        params: uploadParams,
        headers: tusHeadersSchema,
        response: { 204: z.null(), ...commonErrors, 410: errorResponse },
      },
    },
    terminate,
  );

  // X-HTTP-Method-Override: clients behind proxies that only pass GET and POST.
  app.post(
    member,
    { schema: { summary: 'PATCH or DELETE through X-HTTP-Method-Override', ...patchSchema } },
    async (request, reply) => {
      const method = String(request.headers['x-http-method-override'] ?? '').toUpperCase();
      if (method === 'PATCH') return patch(request, reply);
      if (method === 'DELETE') return terminate(request, reply);
      throw new AppError(
        'METHOD_NOT_ALLOWED',
        'POST on an upload needs X-HTTP-Method-Override: PATCH or DELETE',
      );
    },
  );

  app.get(
    member,
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'The stored object of a finished resumable upload',
        params: uploadParams,
        response: { 200: z.any(), ...commonErrors, 410: errorResponse },
      },
    },
    async (request, reply) => {
      const found = await findUpload(request, reply, context, { tus: false });
      const progress = await found.store.progress(found.upload);
      if (progress.status !== 'finished') throw uploadNotFound('the upload is not finished');
      return serveObject(request, reply, found.storage, found.upload.key);
    },
  );
};

/** The upload an id names, if the caller may touch it: its creator, or a service (API key) with write. */
async function findUpload(
  request: FastifyRequest<{ Params: { storage: string; id: string } }>,
  reply: FastifyReply,
  context: TusContext,
  options: { tus: boolean } = { tus: true },
): Promise<Found> {
  tusHeaders(reply);
  if (options.tus) requireTusVersion(request.headers);
  const { storage, principal } = await access(request, context, request.params.storage, 'write');
  const ticket = decodeUploadId(request.params.id, context.uploadIdKey);
  if (ticket === undefined || ticket.storage !== storage.name) throw uploadNotFound();
  if (ticket.principal !== describePrincipal(principal) && principal.kind !== 'api-key')
    throw uploadNotFound();
  reply.header('upload-expires', new Date(ticket.expiresAt).toUTCString());
  if (ticket.expiresAt <= Date.now()) throw new AppError('UPLOAD_EXPIRED', 'the upload expired');
  return {
    storage,
    store: storeOf(storage),
    ticket,
    upload: toUpload(storage, ticket),
    principal,
    admission: context.uploads,
    publicBaseUrl: context.publicBaseUrl,
    receipts: context.receipts,
  };
}

/**
 * Streams the request body into the upload through one admitted part buffer. A type the storage
 * refuses (sniffed from the upload's first bytes) terminates the upload: 415, nothing kept.
 */
async function append(
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
  return withReceipt(found.receipts, ticket.principal, {
    storage: storage.name,
    key: ticket.key,
    size: info.size,
    contentType: info.contentType,
    etag: info.etag,
    ...(info.originalName !== undefined && { originalName: info.originalName }),
    ...(storage.profile.access === 'public' && {
      url: absoluteUrl(request, storage.driver.publicUrl(upload.key), found.publicBaseUrl),
    }),
  });
}

function storeOf(storage: Storage): ResumableStore {
  const store = storage.driver.resumable;
  if (!store)
    throw new AppError('STORAGE_NOT_SUPPORTED', `storage "${storage.name}" does not offer resumable uploads`);
  return store;
}

const toUpload = (storage: Storage, ticket: UploadTicket): ResumableUpload => ({
  key: backendKey(storage, ticket.key),
  writeId: ticket.writeId,
  length: ticket.length,
  partSize: ticket.partSize,
  expiresAt: ticket.expiresAt,
});

const hasBody = (request: FastifyRequest) =>
  Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;

const uploadNotFound = (message = 'no such upload') => new AppError('UPLOAD_NOT_FOUND', message);
const finished = () => new AppError('UPLOAD_FINISHED', 'the upload is complete: GET its URL for the object');
const pastLength = (length: number) =>
  new AppError('UPLOAD_PAST_LENGTH', 'the body goes past Upload-Length', {
    details: { uploadLength: length },
  });

/**
 * HEAD and PATCH when S3 could not say where the upload stands: 423, which tus-js-client retries;
 * any other error makes it start again from byte 0.
 */
function unsure(error: unknown): never {
  if (isAppError(error) && error.status >= 500) {
    throw new AppError('UPLOAD_LOCKED', 'the upload state could not be read just now; retry', {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  throw error;
}
