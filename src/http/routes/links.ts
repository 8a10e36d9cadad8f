import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { notFound } from '../../storage/drivers/local/read.ts';
import type { LinkSigner } from '../../storage/drivers/local/signed-links.ts';
import { readLinkQuery } from '../../storage/drivers/local/urls.ts';
import { validateKey } from '../../storage/keys.ts';
import type { Storage } from '../../storage/storage.ts';
import { findStorage, type RouteContext } from '../context.ts';
import { commonErrors, objectParams } from '../schemas.ts';
import { serveObject } from '../serve-object.ts';

/**
 * Reads for local-disk storages, standing in for what S3 serves itself: service-signed links
 * (private storages; the stand-in for presigned URLs) and plain public URLs (public storages).
 * A tampered, expired or malformed link is 403, like a bad S3 signature.
 */
export const linkRoutes: FastifyPluginAsyncZod<RouteContext & { links: LinkSigner }> = async (
  app,
  context,
) => {
  const localStorage = (name: string): Storage => {
    const storage = findStorage(context, name);
    if (storage.driver.kind !== 'local')
      throw new AppError('NOT_FOUND', 'links are served by the storage backend itself');
    return storage;
  };

  app.get(
    '/v1/links/:storage/*',
    {
      exposeHeadRoute: true,
      schema: {
        summary: 'Read an object through a service-signed link (local storages)',
        params: objectParams,
        querystring: z
          .object({ expires: z.string(), signature: z.string(), disposition: z.string().optional() })
          .partial(),
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const storage = localStorage(request.params.storage);
      const key = validateKey(request.params['*']);
      const link = readLinkQuery(storage.name, key, request.query);
      if (!link || !context.links.verify(link)) {
        throw new AppError('FORBIDDEN', 'the link is invalid or has expired');
      }
      return serveObject(
        request,
        reply,
        storage,
        key,
        link.disposition ? { contentDisposition: link.disposition } : {},
      );
    },
  );

  app.get(
    '/v1/public/:storage/*',
    {
      exposeHeadRoute: true,
      schema: {
        summary: 'Read an object of a public local storage',
        params: objectParams,
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const storage = localStorage(request.params.storage);
      if (storage.profile.access !== 'public') throw new AppError('NOT_FOUND', 'this storage is not public');
      const key = validateKey(request.params['*']);
      // Public URLs carry the backend key, and a directory may hold other storages' keys under
      // other prefixes: only this storage's own are public, the rest answer as missing keys do.
      if (!key.startsWith(storage.profile.prefix)) throw notFound();
      return serveObject(request, reply, storage, key);
    },
  );
};
