import type { FastifyInstance, FastifyRequest } from 'fastify';
import { openAnonymousGrants } from '../auth/open-access.ts';
import { originMatcher } from '../auth/origins.ts';
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';

/**
 * Loopback is no boundary for a browser: any web page can send requests to 127.0.0.1. When anonymous
 * callers may do more than read public storages (the open embedded default), two things keep pages
 * on other sites out:
 * - DNS rebinding: a page at attacker.example whose name later resolves to 127.0.0.1 is, for the
 *   browser, same-origin with Stowage and may list, read and delete everything. Its requests carry
 *   `Host: attacker.example`, so only loopback names and the hosts of configured public base URLs are
 *   accepted (https://en.wikipedia.org/wiki/DNS_rebinding).
 * - Cross-site writes: a `multipart/form-data` POST needs no CORS preflight, so a form on any site
 *   could store files. A write whose `Origin` is neither this service nor allowed by CORS, or that a
 *   browser marks `Sec-Fetch-Site: cross-site` without such an Origin, is refused.
 * Requests without these headers (curl, services) are not browsers' and pass. With credentials
 * required, a page cannot write anyway (it has no key to send), so the guard stays off.
 */

const WRITES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
// Orchestrators' probes name the pod by its address; these reveal nothing a page could use.
const PROBES = new Set(['/healthz', '/readyz']);

export function registerBrowserGuard(app: FastifyInstance, config: Config): void {
  if (openAnonymousGrants(config.auth.anonymousGrants, config.storages).length === 0) return;
  const hostAllowed = hostMatcher(config);
  const originAllowed = originMatcher(config.auth.cors?.origins ?? []);

  app.addHook('onRequest', async (request) => {
    if (PROBES.has(request.routeOptions.url ?? '')) return;
    for (const host of new Set([request.headers.host, request.host])) {
      if (host && !hostAllowed(host))
        throw new AppError(
          'HOST_NOT_ALLOWED',
          'this service answers only to its loopback or public address',
          {
            details: { host },
          },
        );
    }
    if (WRITES.has(request.method) && isCrossSite(request, originAllowed)) {
      throw new AppError('CROSS_SITE_WRITE', 'writes from pages of other sites are refused', {
        diagnostic: `origin ${request.headers.origin ?? '(none)'}, sec-fetch-site ${request.headers['sec-fetch-site'] ?? '(none)'}`,
      });
    }
  });
}

function isCrossSite(request: FastifyRequest, originAllowed: (origin: string) => boolean): boolean {
  const origin = request.headers.origin;
  if (origin !== undefined) return !(sameHost(origin, request.headers.host) || originAllowed(origin));
  return request.headers['sec-fetch-site'] === 'cross-site';
}

/** The page is served by this very service (Swagger UI at /docs, a same-origin form). */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined || !URL.canParse(origin)) return false;
  return new URL(origin).host === host.toLowerCase();
}

const loopbackName = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Host header values (`name[:port]`) naming this service: loopback, or a configured public base URL. */
export function hostMatcher(config: Config): (host: string) => boolean {
  const bases = [
    config.server.publicBaseUrl,
    config.local.publicBaseUrl,
    ...Object.values(config.storages).map((s) => s.publicBaseUrl),
  ];
  const publicNames = new Set(
    bases.filter((base) => base !== undefined).map((base) => new URL(base).hostname),
  );
  return (host) => {
    const name = /^(\[[^\]]*\]|[^:]*)(:\d{1,5})?$/.exec(host.toLowerCase())?.[1];
    return name !== undefined && (loopbackName.test(name) || publicNames.has(name));
  };
}
