/**
 * `npm run demo`: a page to try uploads in a browser — Uppy's Dashboard with its Tus plugin or its
 * AWS S3 plugin (direct uploads), and a plain tus-js-client button — served by a tiny static server
 * on its own origin.
 *
 * Stowage serves the same page at /demo/ when `demo.enabled` (on in the embedded default only:
 * src/http/routes/demo.ts); the bundles stay dev dependencies, so a production install has no page,
 * and no 1 MB front-end bundle becomes a runtime dependency of the API. This server puts the page on
 * an origin of its own, which proves CORS for real: it calls Stowage exactly as a frontend on another
 * port or host does (the browser tests drive it this way).
 *
 * Everything is served from this checkout: the page and the Uppy and tus-js-client bundles straight
 * from node_modules (they are dev dependencies), nothing from a CDN.
 * Environment: DEMO_HOST (127.0.0.1), DEMO_PORT (5173; 0 for any free port), STOWAGE_URL
 * (http://127.0.0.1:8080, the quick start's service). The page's `?stowage=` overrides STOWAGE_URL.
 */
import { createReadStream } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { ASSETS, demoPage } from './assets.ts';

export interface DemoOptions {
  host: string;
  port: number;
  /** Where the page uploads to unless its URL says `?stowage=`. */
  stowageUrl: string;
}

export interface RunningDemo {
  /** The page, e.g. http://127.0.0.1:5173/ */
  readonly url: string;
  close(): Promise<void>;
}

export function demoOptions(env: NodeJS.ProcessEnv): DemoOptions {
  const port = Number(env.DEMO_PORT ?? 5173);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`DEMO_PORT must be a port number, not "${env.DEMO_PORT}"`);
  const stowageUrl = env.STOWAGE_URL ?? 'http://127.0.0.1:8080';
  if (!URL.canParse(stowageUrl)) throw new Error(`STOWAGE_URL must be a URL, not "${stowageUrl}"`);
  return { host: env.DEMO_HOST ?? '127.0.0.1', port, stowageUrl: stowageUrl.replace(/\/+$/, '') };
}

function answer(response: ServerResponse, status: number, type: string): ServerResponse {
  response.statusCode = status;
  response.setHeader('content-type', type);
  response.setHeader('x-content-type-options', 'nosniff');
  // Edits to the page show on the next reload.
  response.setHeader('cache-control', 'no-store');
  return response;
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const page = await demoPage(options.stowageUrl);
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://demo').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, 'text/plain; charset=utf-8').setHeader('allow', 'GET, HEAD');
      return response.end('GET or HEAD only\n');
    }
    if (path === '/' || path === '/index.html')
      return answer(response, 200, 'text/html; charset=utf-8').end(request.method === 'HEAD' ? '' : page);
    const asset = ASSETS[path];
    if (!asset) return answer(response, 404, 'text/plain; charset=utf-8').end('not found\n');
    answer(response, 200, asset.type);
    if (request.method === 'HEAD') return response.end();
    createReadStream(asset.file)
      .on('error', () => response.destroy())
      .pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the demo server has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
