import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * What the demo page is made of, for both servers that serve it: `npm run demo` (demo/server.ts, an
 * origin of its own) and Stowage itself at `/demo/` (src/http/routes/demo.ts, when `demo.enabled`).
 * The Uppy and tus-js-client bundles come from node_modules (dev dependencies): resolving them
 * throws where they are not installed, which tells Stowage's route to stay off.
 */
const fromNodeModules = createRequire(import.meta.url).resolve;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** The only paths served: a fixed map, so no request can name another file. */
export const ASSETS: Record<string, { file: string; type: string }> = {
  '/page.js': { file: here('./page.js'), type: 'text/javascript; charset=utf-8' },
  '/files.js': { file: here('./files.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uppy.min.mjs': {
    file: fromNodeModules('uppy/dist/uppy.min.mjs'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uppy.min.css': {
    file: fromNodeModules('uppy/dist/uppy.min.css'),
    type: 'text/css; charset=utf-8',
  },
  '/vendor/tus.min.js': {
    file: fromNodeModules('tus-js-client/dist/tus.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

const escapeAttribute = (text: string) =>
  text.replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[c] ?? c);

/** The page, its meta tag naming where it uploads ('' for the origin that serves it). */
export async function demoPage(stowageUrl: string): Promise<string> {
  return (await readFile(here('./index.html'), 'utf8')).replace('%STOWAGE_URL%', escapeAttribute(stowageUrl));
}
