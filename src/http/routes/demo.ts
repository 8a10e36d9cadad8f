import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.ts';

/**
 * The demo page at `/demo/` (`demo.enabled`, on in the embedded default): the same page `npm run demo`
 * serves on an origin of its own (demo/), here on Stowage's origin so a newcomer's first run has it
 * at http://127.0.0.1:8080/demo/ with nothing else to start. Its assets come from the npm packages
 * (dev dependencies), never a CDN. The page and its asset map live in demo/, outside src/: the
 * production image carries neither them nor the packages, so there the import fails and the route
 * stays off with a warning instead of breaking startup. Only the fixed asset map is served.
 */

interface DemoAssets {
  ASSETS: Record<string, { file: string; type: string }>;
  demoPage(stowageUrl: string): Promise<string>;
}

// A computed specifier: TypeScript and the build leave demo/ (not part of the service) alone.
const ASSETS_MODULE = new URL('../../../demo/assets.ts', import.meta.url).href;

const answerHeaders = (type: string) => ({
  'content-type': type,
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

export async function registerDemo(app: FastifyInstance): Promise<void> {
  let demo: DemoAssets;
  try {
    demo = (await import(ASSETS_MODULE)) as DemoAssets;
  } catch (error) {
    app.log.warn(
      { err: error },
      'demo.enabled, but the demo page or its packages (uppy, tus-js-client: dev dependencies) are not installed here; /demo/ is off',
    );
    return;
  }
  // '' : the page uploads to the origin that serves it.
  const page = await demo.demoPage('');
  app.get('/demo', { schema: { hide: true } }, (_request, reply) => reply.redirect('/demo/', 308));
  app.get('/demo/', { schema: { hide: true } }, (_request, reply) =>
    reply.headers(answerHeaders('text/html; charset=utf-8')).send(page),
  );
  app.get<{ Params: { '*': string } }>('/demo/*', { schema: { hide: true } }, (request, reply) => {
    const asset = demo.ASSETS[`/${request.params['*']}`];
    // Like every other refusal: the catalogue's JSON error (the error handler renders it).
    if (!asset) throw new AppError('NOT_FOUND', 'no such demo asset');
    return reply.headers(answerHeaders(asset.type)).send(createReadStream(asset.file));
  });
}
