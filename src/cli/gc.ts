import type { Config } from '../config/schema.ts';
import { createS3Clients } from '../storage/drivers/s3/connection.ts';
import { s3ErrorCode } from '../storage/drivers/s3/errors.ts';
import { collectS3Garbage, type GcEvent } from '../storage/drivers/s3/gc.ts';
import { s3Storages } from './permissions.ts';

/**
 * `stowage gc`: runs the S3 driver's garbage collection (src/storage/drivers/s3/gc.ts) on every S3
 * storage, or the named ones, one after the other (it lists whole prefixes: no need to load S3
 * harder than one storage at a time), printing one line per thing removed. Local storages keep no
 * such state outside a request (their temp files are removed by the driver itself). A bucket's
 * direct-upload staging area, shared by its storages, is collected with the first of them.
 */
export interface GcOptions {
  only: readonly string[];
  dryRun: boolean;
  report: (line: string) => void;
  /** The time to judge ages by (tests: what a run later would remove); now by default. */
  now?: number;
}

/** Margin over server.requestTimeout: a write's upload can start a little before its deadline runs. */
const WRITE_AGE_MARGIN_SECONDS = 300;

export async function collectGarbage(
  config: Config,
  options: GcOptions,
): Promise<{ removed: number; failures: number }> {
  const unknown = options.only.filter((name) => !(name in config.storages));
  if (unknown.length > 0)
    throw new Error(`no storage named ${unknown.map((name) => `"${name}"`).join(', ')}`);
  const storages = s3Storages(config).filter(
    (storage) => options.only.length === 0 || options.only.includes(storage.name),
  );
  const maxWriteAgeMs =
    (config.server.requestTimeout + config.limits.uploadQueueTimeout + WRITE_AGE_MARGIN_SECONDS) * 1000;
  // A staged upload outlives its key (direct.expiry) by at most the longest finalize, a write.
  const maxStagedAgeMs = config.direct.expiry * 1000 + maxWriteAgeMs;
  const stagingCollected = new Set<string>();
  let removed = 0;
  let failures = 0;
  for (const storage of storages) {
    const clients = createS3Clients(storage.connection);
    const where = `s3://${storage.profile.bucket}/${storage.profile.prefix}`;
    const line = (event: GcEvent) => {
      const verb = event.action === 'abort' ? 'abort multipart upload' : 'delete';
      if (event.failed !== undefined) {
        failures++;
        return options.report(
          `${storage.name}: could not ${verb} ${event.what} (${event.failed}): ${event.why}`,
        );
      }
      removed++;
      const done = options.dryRun
        ? `would ${verb}`
        : event.action === 'abort'
          ? 'aborted multipart upload'
          : 'deleted';
      options.report(`${storage.name}: ${done} ${event.what}: ${event.why}`);
    };
    try {
      await collectS3Garbage(
        {
          client: clients.client,
          bucket: storage.profile.bucket,
          profile: storage.profile,
          maxWriteAgeMs,
          dryRun: options.dryRun,
          ...(!stagingCollected.has(storage.profile.bucket) && { maxStagedAgeMs }),
          ...(options.now !== undefined && { now: options.now }),
        },
        line,
      );
      stagingCollected.add(storage.profile.bucket);
    } catch (error) {
      failures++;
      options.report(
        `${storage.name}: stopped, S3 refused a listing of ${where} (${s3ErrorCode(error) ?? 'Unknown'})`,
      );
    } finally {
      clients.client.destroy();
      clients.streamClient.destroy();
      clients.presignClient.destroy();
    }
  }
  return { removed, failures };
}
