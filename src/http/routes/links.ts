import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { notFound } from '../../storage/drivers/local/read.ts';
import type { LinkSigner } from '../../storage/drivers/local/signed-links.ts';
import { readLinkQuery } from '../../storage/drivers/local/urls.ts';
import { validateKey } from '../../storage/keys.ts';
import type { Storage } from '../../storage/storage.ts';
import type { RouteContext } from '../context.ts';
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
  // Both routes answer every storage they do not serve — unknown, S3, private (for /v1/public) —
  // exactly as they answer a bad link or a missing key, so they tell nobody which storages exist.
  const localStorage = (name: string): Storage | undefined => {
    const storage = context.storages.get(name);
    return storage?.driver.kind === 'local' ? storage : undefined;
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
      const key = validateKey(request.params['*']);
      const link = readLinkQuery(request.params.storage, key, request.query);
      const storage = localStorage(request.params.storage);
      // The signature covers the storage name, so only this service can have made a valid one; a
      // storage removed since then answers as any bad link does.
      if (!link || !context.links.verify(link) || !storage) {
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
      const key = validateKey(request.params['*']);
      const storage = localStorage(request.params.storage);
      if (storage?.profile.access !== 'public') throw notFound();
      // Public URLs carry the backend key, and a directory may hold other storages' keys under
      // other prefixes: only this storage's own are public, the rest answer as missing keys do.
      if (!key.startsWith(storage.profile.prefix)) throw notFound();
      return serveObject(request, reply, storage, key);
    },
  );
};
