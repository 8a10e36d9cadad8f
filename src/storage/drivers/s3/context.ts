import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import type { PartPool } from '../../part-pool.ts';
import type { Cleanups } from './background-cleanups.ts';
import type { ResolvedS3Connection } from './connection.ts';
import type { QuickPut } from './quick-put.ts';

/** Everything one S3 storage's operations need; built once per driver. */
export interface S3Context {
  readonly client: S3Client;
  /** Same connections as `client`, one attempt per request: for bodies streamed as they arrive. */
  readonly streamClient: S3Client;
  readonly presignClient: S3Client;
  /** Create-only writes of a body in memory without the SDK (quick-put.ts); absent: the SDK only. */
  readonly quickPut?: QuickPut | undefined;
  readonly bucket: string;
  readonly profile: S3ProfileConfig;
  readonly connection: ResolvedS3Connection;
  /** How long a create-only reservation blocks the key if its writer dies (see create-only.ts). */
  readonly reservationTtlSeconds: number;
  /** Cleanups of failed uploads still being retried (see background-cleanups.ts). */
  readonly cleanups: Cleanups;
  /** The upload memory budget all storages share (part-pool.ts). */
  readonly pool: PartPool;
  /** How long a write that was not given a part buffer waits for one (limits.uploadQueueTimeout). */
  readonly bufferWaitMs: number;
}
