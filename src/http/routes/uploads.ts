import type {} from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describePrincipal } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { type StoredObject, storeObject } from '../../storage/intake.ts';
import { backendKey, type Storage } from '../../storage/storage.ts';
import { WriteBatch } from '../../storage/writes.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { asUploadError, type FailingFile, failingFile } from '../multipart-errors.ts';
import { withReceipt } from '../receipt-for.ts';
import { commonErrors, errorResponse, storageParams, storedObject } from '../schemas.ts';

/** Small non-file fields are tolerated (forms often carry them) but bounded and ignored. */
const MAX_FIELDS = 32;
const MAX_FIELD_BYTES = 64 * 1024;

/**
 * POST /v1/storages/{storage}/objects — multipart/form-data, any number of file parts up to the
 * profile's maxFiles. Files are streamed one after another (busboy delivers them in order); the
 * request is all-or-nothing: if any file is refused, the ones already stored are deleted again.
 */
export const uploadRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.post(
    '/v1/storages/:storage/objects',
    {
      schema: {
        summary: 'Upload one or more files (multipart/form-data)',
        consumes: ['multipart/form-data'],
        params: storageParams,
        response: {
          201: z.object({ objects: z.array(storedObject) }),
          ...commonErrors,
          409: errorResponse,
          413: errorResponse,
          415: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { storage, scope, principal } = await access(request, context, request.params.storage, 'write');
      if (!request.isMultipart()) {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          'uploads must be multipart/form-data (use PUT for a raw body)',
        );
      }
      const { maxFiles, maxFileSize } = storage.profile;
      const stored: StoredObject[] = [];
      const writes = new WriteBatch(storage.reportWrite);
      // The file part being stored, named in the answer if the upload fails while storing it.
      let current: FailingFile | undefined;
      const declared = Number(request.headers['content-length']);
      const ticket = await context.uploads.admit(
        storage,
        describePrincipal(principal),
        {
          ...(Number.isSafeInteger(declared) && declared >= 0 && { atMost: declared }),
          overwrite: storage.profile.overwrite,
        },
        request.raw,
      );
      try {
        // A client that left while queued for admission: busboy would wait forever for its body.
        if (request.raw.destroyed && !request.raw.readableEnded) {
          throw new AppError(
            'CLIENT_CLOSED_REQUEST',
            'the client closed the connection before the upload started',
          );
        }
        const parts = request.parts({
          limits: {
            // One byte over the limit so busboy never truncates silently at exactly the limit: the
            // meter sees the extra byte and fails the stream (a truncated file must never be stored).
            fileSize: maxFileSize + 1,
            files: maxFiles,
            fields: MAX_FIELDS,
            fieldSize: MAX_FIELD_BYTES,
            parts: maxFiles + MAX_FIELDS,
            headerPairs: 100,
          },
        });
        for await (const part of parts) {
          if (part.type !== 'file') continue;
          current = failingFile(part, stored.length);
          stored.push(
            await storeObject(storage, {
              body: part.file,
              declaredType: part.mimetype,
              filename: part.filename,
              keyPrefix: scope.keyPrefix,
              signal: ticket.signal,
              buffer: ticket.buffer,
              report: writes.add,
            }),
          );
          current = undefined;
        }
        writes.commit();
      } catch (error) {
        await removeAll(request.log, storage, stored);
        writes.rollback();
        throw asUploadError(error, storage.profile, current);
      } finally {
        ticket.release();
      }
      if (stored.length === 0) throw new AppError('NO_FILES', 'the form contains no file part');
      logOnCompletion(request, {
        storage: storage.name,
        files: stored.length,
        bytes: stored.reduce((sum, o) => sum + o.size, 0),
      });
      const objects = await Promise.all(
        stored.map((object) => withReceipt(context.receipts, describePrincipal(principal), object)),
      );
      return reply.code(201).send({
        objects: objects.map((object) =>
          object.url ? { ...object, url: absoluteUrl(request, object.url, context.publicBaseUrl) } : object,
        ),
      });
    },
  );
};

async function removeAll(
  log: { warn: (obj: object, msg: string) => void },
  storage: Storage,
  stored: StoredObject[],
) {
  await Promise.all(
    stored.map((object) =>
      storage.driver.delete(backendKey(storage, object.key)).catch((error: unknown) => {
        log.warn(
          { err: error, storage: storage.name, key: object.key },
          'could not remove a file of a refused upload',
        );
      }),
    ),
  );
}
