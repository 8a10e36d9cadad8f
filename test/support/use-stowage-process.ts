import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, inject } from 'vitest';
import { type BackendInspector, s3Backend } from './backend.ts';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from './s3-admin.ts';
import {
  type ProcessOptions,
  type StowageProcess,
  s3Connection,
  startStowageProcess,
} from './stowage-process.ts';

/**
 * For a suite that runs Stowage as a real process (stowage-process.ts): a fresh bucket on the test S3
 * server, the process started on it (open access, warnings and errors logged) before the suite and
 * killed after it, the bucket emptied and removed. Use the handle inside tests and hooks.
 */
export interface StowageProcessSuite {
  readonly stowage: StowageProcess;
  readonly bucket: string;
  /** What the bucket really holds, asked of S3 directly. */
  readonly backend: BackendInspector;
}

export function useStowageProcess(
  options: ProcessOptions & { storages: (bucket: string) => Record<string, unknown> },
): StowageProcessSuite {
  let stowage: StowageProcess | undefined;
  let bucket: string | undefined;
  let client: S3Client | undefined;
  let backend: BackendInspector | undefined;

  beforeAll(async () => {
    const s3 = inject('s3');
    bucket = await createTestBucket(s3, options.label);
    client = s3Client(s3);
    backend = s3Backend(bucket, client);
    stowage = await startStowageProcess(
      {
        server: { logLevel: 'warn' },
        s3: s3Connection(s3),
        auth: { anonymousGrants: ['*:*'] },
        storages: options.storages(bucket),
      },
      options,
    );
  });

  afterAll(async () => {
    await stowage?.kill();
    if (bucket) await emptyAndDeleteBucket(bucket, client);
    client?.destroy();
  });

  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined)
      throw new Error(`useStowageProcess: ${name} is not ready (use it inside a test)`);
    return value;
  };
  return {
    get stowage() {
      return ready(stowage, 'stowage');
    },
    get bucket() {
      return ready(bucket, 'bucket');
    },
    get backend() {
      return ready(backend, 'backend');
    },
  };
}
