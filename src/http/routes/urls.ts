import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireInScope } from '../../auth/authorize.ts';
import { isSafeInline } from '../../storage/content-type.ts';
import { dispositionHeader, servedDisposition } from '../../storage/disposition.ts';
import { sanitizeFilename, validateKey } from '../../storage/keys.ts';
import { backendKey } from '../../storage/storage.ts';
import { absoluteUrl } from '../absolute-url.ts';
import { access } from '../access.ts';
import { logOnCompletion } from '../access-log.ts';
import type { RouteContext } from '../context.ts';
import { commonErrors, storageParams } from '../schemas.ts';

/**
 * POST /v1/storages/{storage}/urls — a link to read one object without Stowage credentials.
 * Private storages get a presigned URL whose lifetime is the requested one clamped to the profile's
 * maximum (never longer, whatever is asked); public storages get their public (CDN) URL, which does
 * not expire (`expiresAt: null`). The object must exist: no links to nothing.
 */
export const urlRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  app.post(
    '/v1/storages/:storage/urls',
    {
      bodyLimit: 16 * 1024,
      schema: {
        summary: 'Get a download URL (presigned for private storages)',
        params: storageParams,
        body: z.object({
          key: z.string().min(1).max(1024),
          expiresIn: z
            .number()
            .int()
            .positive()
            .optional()
            .meta({ description: 'Seconds; clamped to the storage maximum.' }),
          filename: z
            .string()
            .min(1)
            .max(255)
            .optional()
            .meta({ description: 'Download filename for this link.' }),
        }),
        response: {
          200: z.object({
            url: z.string(),
            expiresAt: z.iso.datetime().nullable(),
            expiresIn: z.number().int().nullable(),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { storage, scope } = await access(request, context, request.params.storage, 'sign');
      const { profile, driver } = storage;
      const key = backendKey(storage, requireInScope(scope, validateKey(request.body.key)));
      const info = await driver.head(key);
      if (profile.access === 'public') {
        return { url: absoluteUrl(request, driver.publicUrl(key)), expiresAt: null, expiresIn: null };
      }
      const expiresIn = Math.min(
        request.body.expiresIn ?? profile.presign.defaultTtl,
        profile.presign.maxTtl,
      );
      const filename = sanitizeFilename(request.body.filename);
      const dispositionType = isSafeInline(info.contentType) ? profile.contentDisposition : 'attachment';
      const signed = await driver.presignGet({
        key,
        expiresInSeconds: expiresIn,
        ...(filename !== undefined && { contentDisposition: dispositionHeader(filename, dispositionType) }),
        signedFor: {
          contentType: info.contentType,
          contentDisposition: servedDisposition(info.contentType, info.contentDisposition) ?? dispositionType,
        },
      });
      const effective = Math.max(0, Math.round((signed.expiresAt.getTime() - Date.now()) / 1000));
      logOnCompletion(request, { storage: storage.name, key: request.body.key, expiresIn: effective });
      return {
        url: absoluteUrl(request, signed.url),
        expiresAt: signed.expiresAt.toISOString(),
        expiresIn: Math.min(expiresIn, effective),
      };
    },
  );
};
