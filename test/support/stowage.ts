import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { loggerOptions } from '../../src/logger.ts';
import { PartPool } from '../../src/storage/part-pool.ts';
import { createLinks, createStorages } from '../../src/storage/registry.ts';
import { type BackendInspector, localBackend, s3Backend } from './backend.ts';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from './s3-admin.ts';

/**
 * One helper for integration tests: creates fresh buckets on the real S3 server and a fresh temp
 * directory for local storages, builds a Stowage app whose storages point at them, listens on an
 * ephemeral port, and tears everything down after the file. Logs are captured (as JSON lines) so
 * tests can check what would reach an operator's log.
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
  /** What a storage's bucket or directory really holds, whatever its driver. */
  backend(storage: string): BackendInspector;
}

export interface StowageOptions {
  /** Labels of the buckets to create, e.g. ['media', 'private']; none when every storage is local. */
  buckets?: string[];
  /** The storages, given the created bucket names by label. */
  storages: (buckets: Record<string, string>) => Record<string, StorageInput>;
  /** Extra top-level config (server, local…). */
  config?: Omit<ConfigInput, 'storages' | 's3'> & { s3?: ConfigInput['s3'] };
}

export function useStowage(options: StowageOptions): StowageUnderTest {
  const state: Partial<{ -readonly [K in keyof StowageUnderTest]: StowageUnderTest[K] }> = { logs: [] };
  let localRoot: string | undefined;
  state.backend = (name) => {
    const profile = state.config?.storages[name];
    if (!profile || !state.s3) throw new Error(`useStowage: no storage "${name}" (or not ready yet)`);
    // Every local storage has its directory set below, so this looks exactly where the driver writes.
    return profile.driver === 's3' ? s3Backend(profile.bucket, state.s3) : localBackend(profile.directory!);
  };

  beforeAll(async () => {
    const server = inject('s3');
    const s3 = s3Client(server);
    const buckets: Record<string, string> = {};
    for (const label of options.buckets ?? []) buckets[label] = await createTestBucket(server, label);
    localRoot = await mkdtemp(join(tmpdir(), 'stowage-test-'));
    const root = localRoot;
    const storages = Object.fromEntries(
      Object.entries(options.storages(buckets)).map(([name, profile]): [string, StorageInput] => [
        name,
        profile.driver === 'local' ? { directory: join(root, name), ...profile } : profile,
      ]),
    );
    const config = parseConfig(
      {
        ...options.config,
        local: { root, ...options.config?.local },
        server: { host: '127.0.0.1', port: 0, logLevel: 'info', ...options.config?.server },
        // Suites about storage behaviour run open (on loopback); the auth suites pass their own.
        auth: options.config?.auth ?? { anonymousGrants: ['*:*'] },
        s3: {
          endpoint: server.endpoint,
          region: server.region,
          forcePathStyle: server.forcePathStyle,
          credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
          ...options.config?.s3,
        },
        storages,
      },
      {},
      'test config',
    );
    const logs = state.logs as string[];
    const links = createLinks(config);
    const pool = new PartPool(config.limits.uploadMemory);
    const app = await buildApp(config, {
      storages: createStorages(config, links, pool),
      pool,
      links,
      // The production logger (redaction included), writing to the captured lines.
      logger: { ...(loggerOptions('info') as object), stream: lineCollector(logs) },
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
    // The S3 client is s3-admin's, shared by every suite of the file: not ours to destroy.
    if (localRoot) await rm(localRoot, { recursive: true, force: true });
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

/** The drivers every contract suite (test/contract) runs against. */
export const DRIVERS = ['s3', 'local'] as const;
export type Driver = (typeof DRIVERS)[number];

type S3Input = Extract<StorageInput, { driver: 's3' }>;
type LocalInput = Extract<StorageInput, { driver: 'local' }>;

/** A profile for either driver: the shared fields, plus S3-only settings that local storages do without. */
export type ContractProfile = Omit<LocalInput, 'driver' | 'directory'> &
  Partial<Pick<S3Input, 'partSize' | 'queueSize' | 'acl'>>;

/**
 * The options for `useStowage` that put these storages on one driver: a fresh bucket each on S3, a
 * fresh directory each on local disk. Multipart tuning and ACLs are dropped for local storages (a local
 * write has no parts; a public local storage is readable by design).
 */
export function forDriver(driver: Driver, profiles: Record<string, ContractProfile>): StowageOptions {
  const storage = (name: string, buckets: Record<string, string>): StorageInput => {
    const profile = profiles[name]!;
    if (driver === 's3') return { driver, bucket: buckets[name]!, ...profile };
    const { partSize, queueSize, acl, ...shared } = profile;
    return { driver, ...shared };
  };
  const names = Object.keys(profiles);
  return {
    buckets: driver === 's3' ? names : [],
    storages: (buckets) => Object.fromEntries(names.map((name) => [name, storage(name, buckets)])),
  };
}

function lineCollector(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      callback();
    },
  });
}
