import { buildApp } from '../app.ts';
import { parseConfig } from '../config/load.ts';
import { createLinks } from '../storage/registry.ts';

/**
 * The OpenAPI document as the routes declare it, rendered from an app that is built but never
 * listens. The document does not depend on the configured storages (they are a path parameter), so
 * a minimal config with one local storage — which also mounts the link routes — stands in for any.
 */
export async function renderOpenApi(format: 'yaml' | 'json' = 'yaml'): Promise<string> {
  const config = parseConfig({ storages: { docs: { driver: 'local' } } }, {}, 'openapi');
  const app = await buildApp(config, { storages: new Map(), links: createLinks(config) });
  try {
    await app.ready();
    return format === 'yaml' ? app.swagger({ yaml: true }) : `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
