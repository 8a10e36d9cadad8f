import { parse as parseContentDisposition } from 'content-disposition';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireInScope } from '../../auth/authorize.ts';
import { describePrincipal } from '../../auth/principal.ts';
import { AppError, isAppError } from '../../errors.ts';
import { storeObject } from '../../storage/intake.ts';
import { validateKey } from '../../storage/keys.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { planWrite, preconditionFailed } from '../put-conditions.ts';
import { withReceipt } from '../receipt-for.ts';
import { requestBodyStream } from '../request-body.ts';
import { commonErrors, errorResponse, objectParams, storedObject } from '../schemas.ts';

/**
 * PUT /v1/storages/{storage}/objects/{key} — a raw streamed body under a caller-chosen key, for
 * services. Same limits and type checks as multipart uploads; with overwrite off an existing key is
 * 409 and the stored object stays as it was. If-Match and If-None-Match are honoured (put-conditions.ts):
 * 412 when they fail. 201 when the key was new, 200 when an object was replaced. The original
 * filename may be given the standard way, in a Content-Disposition request header.
 */
export const putRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  // This scope reads bodies itself, as a stream, whatever their type: no JSON or other parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.put(
    '/v1/storages/:storage/objects/*',
    {
      schema: {
        summary: 'Upload a raw body under a chosen key',
        params: objectParams,
        // Documented here; read and evaluated by put-conditions.ts. Loose: every other header stays.
        headers: z.looseObject({
          'if-match': z.string().optional().meta({
            description: 'Replace only the stored object with one of these strong ETags (or `*`: any).',
          }),
          'if-none-match': z.string().optional().meta({
            description: '`*`: create only, never replace; tags: not if the stored object has one of them.',
          }),
        }),
        response: {
          200: storedObject,
          201: storedObject,
          ...commonErrors,
          409: errorResponse,
          411: errorResponse,
          412: errorResponse,
          413: errorResponse,
          415: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { storage, scope, principal } = await access(request, context, request.params.storage, 'write');
      const key = requireInScope(scope, validateKey(request.params['*']));
      const lengthHeader = request.headers['content-length'];
      const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
      if (contentLength !== undefined && !Number.isSafeInteger(contentLength)) {
        throw new AppError('BAD_REQUEST', 'invalid Content-Length');
      }
      // Before admission: a failed precondition is answered without taking any upload memory.
      const plan = await planWrite(storage, key, request.headers);
      const ticket = await context.uploads.admit(
        storage,
        describePrincipal(principal),
        {
          ...(contentLength !== undefined && { contentLength }),
          overwrite: plan.overwrite,
          ...(plan.ifMatch !== undefined && { ifMatch: plan.ifMatch }),
        },
        request.raw,
      );
      let stored: Awaited<ReturnType<typeof storeObject>>;
      try {
        stored = await storeObject(storage, {
          body: requestBodyStream(request.raw),
          declaredType: request.headers['content-type'],
          filename: filenameFrom(request.headers['content-disposition']),
          key,
          ...(contentLength !== undefined && { contentLength }),
          signal: ticket.signal,
          buffer: ticket.buffer,
          overwrite: plan.overwrite,
          ...(plan.ifMatch !== undefined && { ifMatch: plan.ifMatch }),
        });
      } catch (error) {
        if (plan.conditional && isAppError(error) && error.code === 'OBJECT_EXISTS')
          throw preconditionFailed(error);
        throw error;
      } finally {
        ticket.release();
      }
      const { replaced, ...object } = stored;
      logOnCompletion(request, { storage: storage.name, key, bytes: object.size });
      const answer = await withReceipt(context.receipts, describePrincipal(principal), object);
      return reply
        .code(replaced ? 200 : 201)
        .send(
          answer.url ? { ...answer, url: absoluteUrl(request, answer.url, context.publicBaseUrl) } : answer,
        );
    },
  );
};

function filenameFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return parseContentDisposition(header).parameters.filename;
  } catch {
    throw new AppError('BAD_REQUEST', 'invalid Content-Disposition header');
  }
}
