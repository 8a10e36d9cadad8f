import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { createLinks, createStorages } from '../../src/storage/registry.ts';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from './s3-admin.ts';

/**
 * One helper for integration tests: creates fresh buckets on the real S3 server, builds a Stowage app
 * whose storages point at them, listens on an ephemeral port, and tears everything down after the
 * file. Logs are captured (as JSON lines) so tests can check what would reach an operator's log.
 */

type StorageInput = ConfigInput['storages'][string];

export interface StowageUnderTest {
  /** Base URL of the listening service, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly config: Config;
  /** Bucket name per logical bucket label. */
  readonly buckets: Record<string, string>;
  /** A direct S3 client (not through Stowage), for assertions. */
  readonly s3: S3Client;
  /** Every log line the app wrote. */
  readonly logs: string[];
}

export interface StowageOptions {
  /** Labels of the buckets to create, e.g. ['media', 'private']. */
  buckets: string[];
  /** The storages, given the created bucket names by label. */
  storages: (buckets: Record<string, string>) => Record<string, StorageInput>;
  /** Extra top-level config (server, local…). */
  config?: Omit<ConfigInput, 'storages' | 's3'> & { s3?: ConfigInput['s3'] };
}

export function useStowage(options: StowageOptions): StowageUnderTest {
  const state: Partial<{ -readonly [K in keyof StowageUnderTest]: StowageUnderTest[K] }> = { logs: [] };

  beforeAll(async () => {
    const server = inject('s3');
    const s3 = s3Client(server);
    const buckets: Record<string, string> = {};
    for (const label of options.buckets) buckets[label] = await createTestBucket(server, label);
    const config = parseConfig(
      {
        ...options.config,
        server: { host: '127.0.0.1', port: 0, logLevel: 'info', ...options.config?.server },
        s3: {
          endpoint: server.endpoint,
          region: server.region,
          forcePathStyle: server.forcePathStyle,
          credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
          ...options.config?.s3,
        },
        storages: options.storages(buckets),
      },
      {},
      'test config',
    );
    const logs = state.logs as string[];
    const links = createLinks(config);
    const app = await buildApp(config, {
      storages: createStorages(config, links),
      links,
      logger: { level: 'info', stream: lineCollector(logs) },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    Object.assign(state, { app, config, buckets, s3, url: `http://127.0.0.1:${address.port}` });
  });

  afterAll(async () => {
    await state.app?.close();
    const s3 = state.s3;
    if (s3)
      await Promise.all(Object.values(state.buckets ?? {}).map((bucket) => emptyAndDeleteBucket(bucket, s3)));
    s3?.destroy();
  });

  return new Proxy(state as StowageUnderTest, {
    get(target, property: keyof StowageUnderTest) {
      const value = target[property];
      if (value === undefined)
        throw new Error(`useStowage: ${String(property)} is not ready (use it inside a test or hook)`);
      return value;
    },
  });
}

function lineCollector(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      callback();
    },
  });
}
