import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';

/** Label for requests no route matched (404s): raw URLs would make one series per scanner probe. */
const UNMATCHED = '(unmatched)';

/**
 * Request metrics from one `onResponse` hook on the root app, labelled by the route *pattern*
 * (`/v1/storages/:storage/objects/*`), and `GET /metrics` in the Prometheus text format. Registered
 * before the routes so the hook sees them all.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED,
      status_code: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
