import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { mayKnow } from '../../auth/authorize.ts';
import { principalOf } from '../access.ts';
import type { RouteContext } from '../context.ts';

/** GET /v1/storages — what this client may use: names and limits, never buckets. */
export const storageRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.get(
    '/v1/storages',
    {
      schema: {
        summary: 'List the storages and their upload rules',
        response: {
          200: z.object({
            storages: z.array(
              z.object({
                name: z.string(),
                access: z.enum(['public', 'private']),
                maxFileSize: z.number().int(),
                maxFiles: z.number().int(),
                allowedTypes: z.array(z.string()),
                overwrite: z.boolean(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      // Only what this caller may use: public storages, and those it holds any grant on.
      const principal = await principalOf(request, context.authenticate);
      const visible = [...context.storages.values()].filter((storage) => mayKnow(principal, storage));
      return {
        storages: visible.map(({ name, profile }) => ({
          name,
          access: profile.access,
          maxFileSize: profile.maxFileSize,
          maxFiles: profile.maxFiles,
          allowedTypes: profile.allowedTypes,
          overwrite: profile.overwrite,
        })),
      };
    },
  );
};
