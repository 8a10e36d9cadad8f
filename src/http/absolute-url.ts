import type { FastifyRequest } from 'fastify';

/**
 * Local storages hand out links relative to this service ("/v1/links/…") unless the operator set
 * `local.publicBaseUrl`; they are made absolute against the origin the client used (honouring
 * X-Forwarded-* only when `server.trustProxy` is on). S3 URLs are absolute already.
 */
export const absoluteUrl = (request: FastifyRequest, url: string): string =>
  url.startsWith('/') ? `${request.protocol}://${request.host}${url}` : url;
