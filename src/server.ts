import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { describeAccess, isOpen } from './auth/describe-access.ts';
import { embeddedDefaultConfig } from './config/defaults.ts';
import { loadConfigFile, parseConfig } from './config/load.ts';
import { drain } from './drain.ts';
import { UploadAdmission } from './http/admission.ts';
import { toAppError } from './http/error-handler.ts';
import { loggerOptions } from './logger.ts';
import { describeSigningSecret } from './storage/drivers/local/signing-secret.ts';
import { PartPool } from './storage/part-pool.ts';
import { createKeptLinks, createStorages } from './storage/registry.ts';
import type { Storage } from './storage/storage.ts';

/**
 * The process: config → storages → app → listen, and a graceful stop on SIGTERM/SIGINT (see
 * drain.ts: readiness false, new uploads refused, a grace period, then the rest aborted cleanly;
 * exit 0).
 */

async function main(): Promise<void> {
  const env = process.env;
  const configPath = env.STOWAGE_CONFIG;
  const config = configPath
    ? await loadConfigFile(configPath, env)
    : parseConfig(embeddedDefaultConfig, env, 'embedded default');
  const { links, secret } = await createKeptLinks(config);
  // One upload memory budget for the storages' drivers and the admission of uploads.
  const pool = new PartPool(config.limits.uploadMemory);
  const storages = createStorages(config, links, pool);
  const uploads = new UploadAdmission(config, pool);
  const app = await buildApp(config, {
    storages,
    links,
    logger: loggerOptions(config.server.logLevel, {
      pretty: process.stdout.isTTY === true && prettyAvailable(),
    }),
    uploads,
    ...(secret !== undefined && { resumableSecret: secret.secret }),
  });

  if (!configPath) {
    app.log.warn(
      `no STOWAGE_CONFIG given: running the embedded default — storages media (public), private and exports on the local disk under ${config.local.root}. ` +
        'To use S3, start with STOWAGE_CONFIG=stowage.example.yaml (see README "Configuration").',
    );
  }
  if (isOpen(config)) app.log.warn(describeAccess(config));
  else app.log.info(describeAccess(config));
  if (secret) app.log.info(describeSigningSecret(secret));
  for (const [name, storage] of storages) {
    const { driver, access, maxFileSize } = storage.profile;
    const where =
      storage.profile.driver === 's3'
        ? `bucket ${storage.profile.bucket}`
        : `directory ${storage.profile.directory ?? `${config.local.root}/${name}`}`;
    app.log.info({ storage: name, driver, access, maxFileSize }, `storage ${name}: ${driver} ${where}`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await drain(app, uploads, config.server.shutdownGrace * 1000);
    app.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.server.host, port: config.server.port });
  reportReadiness(app, storages);
}

/**
 * Checks every storage once at startup, as /readyz does (for a create-only S3 storage that includes
 * probing its server's conditional writes), so a storage that is not ready says why in one line at
 * the top of the log instead of in the first failed upload. Not awaited: the service answers meanwhile.
 */
function reportReadiness(app: FastifyInstance, storages: ReadonlyMap<string, Storage>): void {
  for (const [name, storage] of storages) {
    storage.driver.check().catch((error: unknown) => {
      const { code, message } = toAppError(error);
      app.log.error({ storage: name, code, err: error }, `storage ${name} is not ready: ${message}`);
    });
  }
}

/** pino-pretty is a dev dependency: a production image run with a TTY (`docker run -t`) logs JSON. */
function prettyAvailable(): boolean {
  try {
    import.meta.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  // Config problems are listed one per line; anything else is a startup failure worth a stack.
  console.error(error instanceof Error && error.name === 'ConfigError' ? error.message : error);
  process.exit(1);
});
