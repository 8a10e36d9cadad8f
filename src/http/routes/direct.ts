import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describePrincipal } from '../../auth/principal.ts';
import { finalizeDirect } from '../../storage/direct/finalize.ts';
import { issueKey } from '../../storage/direct/issued-key.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import {
  bindingOf,
  declarations,
  directOf,
  finalizeBody,
  newKeyOperation,
  requestedOperation,
  requirePartWithinLimit,
  signAnswer,
  signBody,
  verifiedKey,
} from '../direct-requests.ts';
import { promotedObject } from '../promoted-object.ts';
import { commonErrors, errorResponse, storageParams, storedObject } from '../schemas.ts';

/**
 * Direct-to-S3 uploads: `sign` answers one presigned S3 request at a time (Uppy's `signRequest`
 * contract), `finalize` verifies what arrived and promotes it. The protocol, and why it needs no
 * state: the top of src/storage/direct/issued-key.ts.
 */
export interface DirectContext extends RouteContext {
  /** MAC key for issued keys (issued-key.ts directKeyFor). */
  directKey: Buffer;
  expirySeconds: number;
}

/** As a form upload reports it; a checksum of bytes Stowage never saw is not known. */
const directObject = storedObject.omit({ checksum: true });

export const directRoutes: FastifyPluginAsyncZod<DirectContext> = async (app, context) => {
  app.post(
    '/v1/storages/:storage/direct/sign',
    {
      schema: {
        summary: 'Sign one S3 request of a direct upload (Uppy AwsS3 `signRequest`)',
        params: storageParams,
        body: signBody,
        response: {
          200: signAnswer,
          ...commonErrors,
          409: errorResponse,
          413: errorResponse,
          415: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { storage, scope, principal } = await access(request, context, request.params.storage, 'write');
      const direct = directOf(storage);
      const { profile } = storage;
      const body = request.body;
      const requested = requestedOperation(body);
      const binding = bindingOf(storage, scope, principal);
      const expiresIn = Math.min(body.expiresIn ?? profile.presign.defaultTtl, profile.presign.maxTtl);

      if (
        requested.op === 'PutObject' ||
        requested.op === 'PostObject' ||
        requested.op === 'CreateMultipartUpload'
      ) {
        const issued = issueKey(
          { expiresAt: Date.now() + context.expirySeconds * 1000, ...declarations(body, profile) },
          binding,
          context.directKey,
        );
        const signed = await direct.presign(newKeyOperation(requested.op, issued, body, profile), expiresIn);
        logOnCompletion(request, { storage: storage.name, key: issued.key });
        return reply.send({
          url: signed.url,
          key: issued.key,
          headers: signed.headers,
          ...(signed.fields !== undefined && { fields: signed.fields }),
        });
      }

      const issued = verifiedKey(body.key, context.directKey, binding);
      if (requested.op === 'UploadPart') requirePartWithinLimit(requested.partNumber, profile);
      const remaining = Math.floor((issued.expiresAt - Date.now()) / 1000);
      const signed = await direct.presign(
        { ...requested, key: issued.key },
        Math.max(1, Math.min(expiresIn, remaining)),
      );
      logOnCompletion(request, { storage: storage.name, key: issued.key });
      return reply.send({ url: signed.url, headers: signed.headers });
    },
  );

  app.post(
    '/v1/storages/:storage/direct/finalize',
    {
      schema: {
        summary: 'Verify a direct upload and store it under its final key',
        params: storageParams,
        body: finalizeBody,
        response: {
          200: z
            .object({ objects: z.array(directObject) })
            .meta({ description: 'Already finalized: the same object.' }),
          201: z.object({ objects: z.array(directObject) }),
          ...commonErrors,
          409: errorResponse,
          412: errorResponse,
          413: errorResponse,
          415: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { storage, scope, principal } = await access(request, context, request.params.storage, 'write');
      const direct = directOf(storage);
      const binding = bindingOf(storage, scope, principal);
      const issued = verifiedKey(request.body.key, context.directKey, binding);
      const done = await finalizeDirect(storage, direct, issued, binding, request.log);
      logOnCompletion(request, { storage: storage.name, key: done.key });
      const object = await promotedObject(
        request,
        context,
        storage,
        { key: done.key, info: done.info },
        describePrincipal(principal),
      );
      return reply.code(done.already ? 200 : 201).send({ objects: [object] });
    },
  );
};
