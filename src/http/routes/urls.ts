import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sanitizeFilename } from '../../storage/keys.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { issueLink, issueLinks, MAX_LINKS_PER_REQUEST } from '../download-links.ts';
import { commonErrors, errorResponse, storageParams } from '../schemas.ts';

/**
 * POST /v1/storages/{storage}/urls — links to read objects without Stowage credentials, for one key
 * (`key`) or many (`keys`, answered in the order given, each with its link or its own error).
 * Private storages get presigned URLs whose lifetime is the requested one clamped to the profile's
 * maximum (never longer, whatever is asked); public storages get their public (CDN) URL, which does
 * not expire (`expiresAt: null`). The object must exist: no links to nothing (download-links.ts).
 */

const expiresIn = z
  .number()
  .int()
  .positive()
  .optional()
  .meta({ description: 'Seconds; clamped to the storage maximum.' });

const objectKey = z.string().min(1).max(1024);

const single = z.object({
  key: objectKey,
  expiresIn,
  filename: z.string().min(1).max(255).optional().meta({ description: 'Download filename for this link.' }),
});

const bulk = z
  .object({
    // Any string: an invalid key (empty, too long, `..`) gets its own INVALID_KEY in the answer.
    keys: z
      .array(z.string())
      .min(1)
      .max(MAX_LINKS_PER_REQUEST)
      .meta({ description: `Up to ${MAX_LINKS_PER_REQUEST} keys; the answer keeps their order.` }),
    expiresIn,
  })
  .meta({ description: 'Links for many keys at once (a body with `key` is the single form).' });

const link = z.object({
  url: z.string(),
  expiresAt: z.iso.datetime().nullable(),
  expiresIn: z.number().int().nullable(),
});

const linkOutcome = z.union([
  link.extend({ key: z.string() }),
  z
    .object({ key: z.string(), error: errorResponse.shape.error.omit({ details: true }) })
    .meta({ description: 'This key got no link (e.g. OBJECT_NOT_FOUND, INVALID_KEY, FORBIDDEN).' }),
]);

/** Bodies of up to 1000 keys of up to 1 KiB each (a key of 1024 UTF-8 bytes, JSON-escaped). */
export const URLS_BODY_LIMIT = 2 * 1024 * 1024;

export const urlRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.post(
    '/v1/storages/:storage/urls',
    {
      bodyLimit: URLS_BODY_LIMIT,
      schema: {
        summary: 'Get download URLs (presigned for private storages), for one key or many',
        params: storageParams,
        body: z.union([single, bulk]),
        response: {
          200: z.union([link, z.object({ urls: z.array(linkOutcome) })]),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { storage, scope } = await access(request, context, request.params.storage, 'sign');
      const absolute = (url: string) => absoluteUrl(request, url, context.publicBaseUrl);
      const { body } = request;
      if ('keys' in body) {
        const urls = await issueLinks(storage, scope, body.keys, body.expiresIn, absolute);
        const failed = urls.reduce((count, outcome) => count + ('error' in outcome ? 1 : 0), 0);
        logOnCompletion(request, { storage: storage.name, keys: body.keys.length, failed });
        return { urls };
      }
      const issued = await issueLink(
        storage,
        scope,
        { key: body.key, expiresIn: body.expiresIn, filename: sanitizeFilename(body.filename) },
        absolute,
      );
      logOnCompletion(request, {
        storage: storage.name,
        key: body.key,
        ...(issued.expiresIn !== null && { expiresIn: issued.expiresIn }),
      });
      return issued;
    },
  );
};
