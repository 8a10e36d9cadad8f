import { localDirectory } from '../config/locations.ts';
import type { Config } from '../config/schema.ts';
import { createLocalDriver } from './drivers/local/driver.ts';
import { createLinkSigner, type LinkSigner } from './drivers/local/signed-links.ts';
import { resolveSigningSecret, type SigningSecret } from './drivers/local/signing-secret.ts';
import { resolveS3Connection } from './drivers/s3/connection.ts';
import { createS3Driver } from './drivers/s3/driver.ts';
import { PartPool } from './part-pool.ts';
import type { Storage } from './storage.ts';

/**
 * Builds every configured storage once, at startup: profile + driver. A multipart upload's
 * create-only reservation outlives the longest request the server allows, plus a margin.
 */
export function createStorages(
  config: Config,
  links: LinkSigner,
  /** The upload memory budget; the server shares it with upload admission (src/http/admission.ts). */
  pool: PartPool = new PartPool(config.limits.uploadMemory),
): Map<string, Storage> {
  const storages = new Map<string, Storage>();
  for (const [name, profile] of Object.entries(config.storages)) {
    const driver =
      profile.driver === 's3'
        ? createS3Driver({
            name,
            profile,
            connection: resolveS3Connection(config.s3, profile.s3),
            reservationTtlSeconds: config.server.requestTimeout + 300,
            pool,
            bufferWaitMs: config.limits.uploadQueueTimeout * 1000,
          })
        : createLocalDriver({
            name,
            profile,
            directory: localDirectory(config.local.root, name, profile.directory),
            links,
            // Empty: links are relative and made absolute against the request's origin, unless the
            // operator says where clients reach the service.
            baseUrl: config.local.publicBaseUrl ?? '',
            modes: { file: config.local.fileMode, directory: config.local.directoryMode },
          });
    storages.set(name, { name, profile, driver });
  }
  return storages;
}

/**
 * A signer for local storages' links with a secret of its own: the configured one, else a random one
 * that dies with the process. For tools and tests; the server uses createKeptLinks.
 */
export function createLinks(config: Config): LinkSigner {
  return createLinkSigner({
    secret: config.local.signingSecret,
    previousSecret: config.local.previousSigningSecret,
  });
}

/**
 * The server's signer: the configured secret, else (when a storage is local) the one kept under
 * `local.root` (signing-secret.ts), so links survive a restart. `secret` says which, for the log;
 * undefined when no storage is local and none is configured (no links to sign).
 */
export async function createKeptLinks(
  config: Config,
): Promise<{ links: LinkSigner; secret: SigningSecret | undefined }> {
  const local = Object.values(config.storages).some((profile) => profile.driver === 'local');
  const secret =
    local || config.local.signingSecret !== undefined ? await resolveSigningSecret(config.local) : undefined;
  const links = createLinkSigner({
    secret: secret?.secret,
    previousSecret: config.local.previousSigningSecret,
  });
  return { links, secret };
}

export async function closeStorages(storages: ReadonlyMap<string, Storage>): Promise<void> {
  await Promise.allSettled([...storages.values()].map((storage) => storage.driver.close()));
}
