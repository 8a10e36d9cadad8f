import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listPrefixInScope } from '../../auth/authorize.ts';
import { validatePrefix } from '../../storage/keys.ts';
import { apiKey, backendKey } from '../../storage/storage.ts';
import { access } from '../access.ts';
import type { RouteContext } from '../context.ts';
import { commonErrors, objectSummary, storageParams } from '../schemas.ts';

/** GET /v1/storages/{storage}/objects?prefix=&cursor=&limit= — keys in lexicographic order, paged. */
export const listRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.get(
    '/v1/storages/:storage/objects',
    {
      schema: {
        summary: 'List objects',
        params: storageParams,
        querystring: z.object({
          prefix: z.string().max(1024).default(''),
          cursor: z
            .string()
            .min(1)
            .max(4096)
            .optional()
            .meta({ description: 'Opaque; from the previous page.' }),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: {
          200: z.object({
            objects: z.array(objectSummary),
            nextCursor: z.string().optional().meta({ description: 'Present when more objects follow.' }),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { storage, scope } = await access(request, context, request.params.storage, 'list');
      const { prefix, cursor, limit } = request.query;
      const page = await storage.driver.list({
        prefix: backendKey(storage, listPrefixInScope(scope, validatePrefix(prefix))),
        limit,
        ...(cursor !== undefined && { cursor }),
      });
      return {
        objects: page.objects.map((object) => ({
          key: apiKey(storage, object.key),
          size: object.size,
          etag: object.etag,
          lastModified: object.lastModified.toISOString(),
        })),
        ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
      };
    },
  );
};
