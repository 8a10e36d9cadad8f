import { buildApp } from './app.ts';
import { describeAccess } from './auth/describe-access.ts';
import { embeddedDefaultConfig } from './config/defaults.ts';
import { loadConfigFile, parseConfig } from './config/load.ts';
import { loggerOptions } from './logger.ts';
import { createLinks, createStorages } from './storage/registry.ts';

/**
 * The process: config → storages → app → listen, and a graceful stop on SIGTERM/SIGINT (readiness
 * turns false, no new requests, in-flight ones get a grace period, then the rest are cut — which
 * aborts their uploads — and the process exits 0).
 */

const SHUTDOWN_GRACE_MS = Number(process.env.STOWAGE_SHUTDOWN_GRACE_MS ?? 25_000);

async function main(): Promise<void> {
  const env = process.env;
  const configPath = env.STOWAGE_CONFIG;
  const config = configPath
    ? await loadConfigFile(configPath, env)
    : parseConfig(embeddedDefaultConfig, env, 'embedded default');
  let draining = false;
  const links = createLinks(config);
  const storages = createStorages(config, links);
  const app = await buildApp(config, {
    storages,
    links,
    logger: loggerOptions(config.server.logLevel, { pretty: process.stdout.isTTY === true }),
    isDraining: () => draining,
  });

  if (!configPath) {
    app.log.warn(
      `no STOWAGE_CONFIG given: running the embedded default — storages media (public), private and exports on the local disk under ${config.local.root}. ` +
        'To use S3, start with STOWAGE_CONFIG=stowage.example.yaml (see README "Configuration").',
    );
  }
  app.log.info(describeAccess(config));
  for (const [name, storage] of storages) {
    const { driver, access, maxFileSize } = storage.profile;
    const where =
      storage.profile.driver === 's3'
        ? `bucket ${storage.profile.bucket}`
        : `directory ${storage.profile.directory ?? `${config.local.root}/${name}`}`;
    app.log.info({ storage: name, driver, access, maxFileSize }, `storage ${name}: ${driver} ${where}`);
  }

  const stop = async (signal: string) => {
    if (draining) return;
    draining = true;
    app.log.info(
      { signal, graceMs: SHUTDOWN_GRACE_MS },
      'shutting down: refusing new requests, letting in-flight ones finish',
    );
    const force = setTimeout(() => {
      app.log.warn('grace period over: closing the remaining connections (their uploads are aborted)');
      app.server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS).unref();
    try {
      await app.close();
    } finally {
      clearTimeout(force);
    }
    app.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.server.host, port: config.server.port });
}

main().catch((error: unknown) => {
  // Config problems are listed one per line; anything else is a startup failure worth a stack.
  console.error(error instanceof Error && error.name === 'ConfigError' ? error.message : error);
  process.exit(1);
});
