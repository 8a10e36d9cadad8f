import type { FastifyRequest } from 'fastify';

/**
 * Makes a URL to one of this service's own routes ("/v1/…": a resumable upload's `Location`, a link
 * to a local object) absolute. Against `server.publicBaseUrl` when configured — what a deployment
 * behind a TLS-terminating proxy sets, so the URL says https whatever the proxy passes on — else
 * against the origin the client used, which Fastify reads from `X-Forwarded-Proto`/`-Host` only
 * when `server.trustProxy` trusts the peer (a `Location` of `http://` behind a TLS proxy is the
 * most reported tus deployment bug). URLs that are absolute already (S3, CDN) are left alone.
 */
export function absoluteUrl(request: FastifyRequest, url: string, publicBaseUrl?: string): string {
  if (!url.startsWith('/')) return url;
  const base = publicBaseUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
  return `${base}${url}`;
}
