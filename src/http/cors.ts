import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { originMatcher } from '../auth/origins.ts';
import type { CorsConfig } from '../config/auth-schema.ts';

/**
 * Browser access per config, with @fastify/cors: only the listed origins, preflights for multipart
 * POST, PUT and ranged GET, and the response headers a frontend needs to read (ETag for caching and
 * conditional requests, Content-Range for resumable downloads, Content-Disposition for filenames).
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
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Content-Disposition',
      'Range',
      'If-None-Match',
      'If-Range',
      'X-Api-Key',
      'X-Request-Id',
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
    ],
    maxAge: config.maxAge,
    strictPreflight: true,
  });
}
