import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { originMatcher } from '../auth/origins.ts';
import type { CorsConfig } from '../config/auth-schema.ts';

/**
 * Browser access per config, with @fastify/cors: only the listed origins, preflights for multipart
 * POST, PUT and ranged GET, and the response headers a frontend needs to read (ETag for caching and
 * conditional requests, Content-Range for resumable downloads, Content-Disposition for filenames), and
 * the tus headers resumable uploads send and read (Location, Upload-*, Tus-*).
 */
/** @fastify/cors's origin callback over the shared matcher (an allowed origin is echoed back). */
function allowedBy(
  config: CorsConfig,
): (origin: string | undefined, done: (error: null, allow: boolean) => void) => void {
  const allowed = originMatcher(config.origins);
  return (origin, done) => done(null, origin !== undefined && allowed(origin));
}

export async function registerCors(app: FastifyInstance, config: CorsConfig): Promise<void> {
  await app.register(cors, {
    origin: config.origins.includes('*') ? '*' : allowedBy(config),
    credentials: config.credentials,
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Content-Disposition',
      'Range',
      'If-None-Match',
      'If-Range',
      'X-Api-Key',
      'X-Request-Id',
      // tus (resumable uploads)
      'Tus-Resumable',
      'Upload-Length',
      'Upload-Offset',
      'Upload-Metadata',
      'Upload-Defer-Length',
      'Upload-Concat',
      'X-HTTP-Method-Override',
    ],
    exposedHeaders: [
      'ETag',
      'Location',
      'Content-Disposition',
      'Content-Range',
      'Content-Length',
      'Accept-Ranges',
      'X-Request-Id',
      'X-Checksum-Sha256',
      'Upload-Offset',
      'Upload-Length',
      'Upload-Expires',
      'Upload-Metadata',
      'Tus-Version',
      'Tus-Resumable',
      'Tus-Extension',
      'Tus-Max-Size',
    ],
    maxAge: config.maxAge,
    strictPreflight: true,
  });
}
