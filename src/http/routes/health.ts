import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { mayKnow } from '../../auth/authorize.ts';
import { principalOf } from '../access.ts';
import type { RouteContext } from '../context.ts';
import { toAppError } from '../error-handler.ts';

const READINESS_TIMEOUT_MS = 3_000;

const storageStatus = z.object({
  status: z.enum(['ok', 'error']),
  code: z.string().optional(),
  message: z.string().optional(),
});
const readiness = z.object({
  status: z.enum(['ok', 'error']),
  storages: z.record(z.string(), storageStatus),
});

/**
 * /healthz: the process answers (liveness). /readyz: every storage's bucket or directory is
 * reachable with the configured credentials, checked in parallel with a deadline — a load balancer
 * should only send traffic when this is 200. The body names only the storages the caller may know
 * of (public ones, and those it holds a grant on, as GET /v1/storages), so storage names cannot be
 * read from it; the status still covers every storage.
 */
export const healthRoutes: FastifyPluginAsyncZod<RouteContext & { isDraining?: () => boolean }> = async (
  app,
  context,
) => {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness (every storage reachable)',
        response: { 200: readiness, 503: readiness },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request, context.authenticate);
      const entries = await Promise.all(
        [...context.storages].map(async ([name, storage]) => {
          try {
            await withDeadline(storage.driver.check(), READINESS_TIMEOUT_MS);
            return [name, { status: 'ok' as const }] as const;
          } catch (error) {
            const appError = toAppError(error);
            return [
              name,
              { status: 'error' as const, code: appError.code, message: appError.message },
            ] as const;
          }
        }),
      );
      const draining = context.isDraining?.() ?? false;
      const ok = !draining && entries.every(([, status]) => status.status === 'ok');
      const known = (name: string) => {
        const storage = context.storages.get(name);
        return storage !== undefined && mayKnow(principal, storage);
      };
      const named = entries.filter(([name]) => known(name));
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'error', storages: Object.fromEntries(named) });
    },
  );
};

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error('readiness check timed out'), { name: 'TimeoutError' })),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
