import { localDirectory } from '../config/locations.ts';
import type { Config } from '../config/schema.ts';
import { createLocalDriver } from './drivers/local/driver.ts';
import { createLinkSigner, type LinkSigner } from './drivers/local/signed-links.ts';
import { resolveS3Connection } from './drivers/s3/connection.ts';
import { createS3Driver } from './drivers/s3/driver.ts';
import type { Storage } from './storage.ts';

/**
 * Builds every configured storage once, at startup: profile + driver. A multipart upload's
 * create-only reservation outlives the longest request the server allows, plus a margin.
 */
export function createStorages(config: Config, links: LinkSigner): Map<string, Storage> {
  const storages = new Map<string, Storage>();
  for (const [name, profile] of Object.entries(config.storages)) {
    const driver =
      profile.driver === 's3'
        ? createS3Driver({
            name,
            profile,
            connection: resolveS3Connection(config.s3, profile.s3),
            reservationTtlSeconds: config.server.requestTimeout + 300,
          })
        : createLocalDriver({
            name,
            profile,
            directory: localDirectory(config.local.root, name, profile.directory),
            links,
            // Empty: links are relative and made absolute against the request's origin, unless the
            // operator says where clients reach the service.
            baseUrl: config.local.publicBaseUrl ?? '',
          });
    storages.set(name, { name, profile, driver });
  }
  return storages;
}

/**
 * The signer for local storages' links. Without a configured secret each process makes its own, so
 * links die with the process and do not work across instances: fine for the embedded default, and
 * the reason a multi-instance deployment must set `local.signingSecret`.
 */
export function createLinks(config: Config): LinkSigner {
  return createLinkSigner({
    secret: config.local.signingSecret,
    previousSecret: config.local.previousSigningSecret,
  });
}

export async function closeStorages(storages: ReadonlyMap<string, Storage>): Promise<void> {
  await Promise.allSettled([...storages.values()].map((storage) => storage.driver.close()));
}
