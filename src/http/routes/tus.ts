import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describePrincipal } from '../../auth/principal.ts';
import { AppError, isAppError } from '../../errors.ts';
import { chooseExtension, generateKey } from '../../storage/keys.ts';
import { tooLarge } from '../../storage/meter.ts';
import { encodeUploadId, newWriteId, type UploadTicket } from '../../storage/resumable/upload-id.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import { commonErrors, errorResponse, storageParams } from '../schemas.ts';
import { emptyReply, serveObject } from '../serve-object.ts';
import { append, resumableObject } from '../tus/append.ts';
import {
  type Found,
  findUpload,
  finished,
  foundUpload,
  pastLength,
  storeOf,
  type TusContext,
  unsure,
  uploadNotFound,
} from '../tus/found-upload.ts';
import {
  byteCount,
  OFFSET_STREAM,
  parseUploadMetadata,
  requireTusVersion,
  tusCapabilities,
  tusHeaders,
} from '../tus-headers.ts';

const uploadParams = storageParams.extend({
  id: z.string().min(1).max(2048).meta({ description: 'The upload id from `Location`.' }),
});
const tusHeadersSchema = z.looseObject({
  'tus-resumable': z.string().optional().meta({ description: 'Must be `1.0.0` (all but OPTIONS).' }),
});

/**
 * Resumable uploads, tus 1.0.0 (creation, creation-with-upload, termination, expiration): POST
 * creates, HEAD/PATCH/DELETE work on `/v1/storages/{storage}/uploads/{id}`, GET there answers the
 * stored object once finished. The protocol and why it needs no shared state: the top of
 * src/storage/resumable/upload-id.ts.
 */
export type { TusContext };

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
      const found = foundUpload(context, storage, store, ticket, principal);
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

const hasBody = (request: FastifyRequest) =>
  Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
