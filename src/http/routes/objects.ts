import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireInScope } from '../../auth/authorize.ts';
import { validateKey } from '../../storage/keys.ts';
import { backendKey } from '../../storage/storage.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { setObjectHeaders } from '../object-headers.ts';
import { commonErrors, errorResponse, objectParams } from '../schemas.ts';
import { emptyReply, etagMatches, notModified, serveObject } from '../serve-object.ts';

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
      const { storage, scope } = await access(request, context, request.params.storage, 'read');
      return serveObject(
        request,
        reply,
        storage,
        backendKey(storage, requireInScope(scope, validateKey(request.params['*']))),
      );
    },
  );

  app.head(
    '/v1/storages/:storage/objects/*',
    {
      schema: {
        summary: 'Object metadata',
        params: objectParams,
        response: { 200: z.null(), 304: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { storage, scope } = await access(request, context, request.params.storage, 'read');
      const info = await storage.driver.head(
        backendKey(storage, requireInScope(scope, validateKey(request.params['*']))),
      );
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch && etagMatches(ifNoneMatch, info.etag)) return notModified(reply, info);
      return emptyReply(setObjectHeaders(reply, info).header('content-length', info.size));
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
      const { storage, scope } = await access(request, context, request.params.storage, 'delete');
      await storage.driver.delete(
        backendKey(storage, requireInScope(scope, validateKey(request.params['*']))),
      );
      logOnCompletion(request, { storage: storage.name, key: request.params['*'] });
      return emptyReply(reply.code(204));
    },
  );
};
