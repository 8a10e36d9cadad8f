import { DeleteObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import type { S3ConnectionConfig, S3ProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import type { StorageDriver } from '../../driver.ts';
import type { PartPool } from '../../part-pool.ts';
import { createCleanups } from './background-cleanups.ts';
import { createConditionsGate } from './conditions-probe.ts';
import { createS3Clients, resolveS3Connection } from './connection.ts';
import type { S3Context } from './context.ts';
import { findPromoted, inspectStaged, promoteStaged, readStagedHead } from './direct-promote.ts';
import { presignDirect } from './direct-sign.ts';
import { toAppError } from './errors.ts';
import { partBufferSize, putObject } from './put.ts';
import { createQuerySigner } from './query-signer.ts';
import { createQuickGet, quickGetObject } from './quick-get.ts';
import { createQuickHead, quickHeadObject } from './quick-head.ts';
import { createQuickPut } from './quick-put.ts';
import { listObjects } from './read.ts';
import { s3ResumableStore } from './resumable.ts';
import { bucketUrl, buildPublicUrl, presignGet } from './urls.ts';

export interface S3DriverOptions {
  /** The storage name (for diagnostics only; never sent to S3). */
  name: string;
  profile: S3ProfileConfig;
  /** The storage's connection, shared settings and its override already merged (defaults may be missing). */
  connection: S3ConnectionConfig;
  /** How long a create-only reservation holds a key if its writer dies; must exceed the longest upload. */
  reservationTtlSeconds: number;
  /** The upload memory budget, shared by every storage and the admission of uploads. */
  pool: PartPool;
  /** How long a write that was not given a part buffer waits for one (ms). */
  bufferWaitMs: number;
}

/** Readiness wants a quick answer, whatever the request timeout. */
const CHECK_TIMEOUT_MS = 3000;

export function createS3Driver(options: S3DriverOptions): StorageDriver {
  const connection = resolveS3Connection(options.connection);
  const { client, streamClient, presignClient } = createS3Clients(connection);
  // Stowage's own requests (quick-head.ts, quick-put.ts, quick-get.ts) go to the internal endpoint, never the public one.
  const internalBucketUrl = bucketUrl({
    ...connection,
    publicEndpoint: undefined,
    bucket: options.profile.bucket,
  });
  const credentials = () => client.config.credentials();
  const quickPut = createQuickPut({
    bucketUrl: internalBucketUrl,
    bucket: options.profile.bucket,
    region: connection.region,
    credentials,
    timeoutMs: connection.requestTimeout * 1000,
    signPayload: connection.signPayload,
    checksums: connection.checksums,
  });
  const context: S3Context = {
    client,
    streamClient,
    presignClient,
    quickPut,
    pool: options.pool,
    bufferWaitMs: options.bufferWaitMs,
    bucket: options.profile.bucket,
    profile: options.profile,
    connection,
    reservationTtlSeconds: options.reservationTtlSeconds,
    // Past the reservation's expiry a cleanup is moot (the lifecycle rule takes the multipart upload).
    cleanups: createCleanups(options.reservationTtlSeconds * 1000),
  };
  // Create-only storages rest on conditional writes; overwrite: true is the explicit opt-out.
  const conditions = options.profile.overwrite
    ? undefined
    : createConditionsGate({ client, bucket: options.profile.bucket, profile: options.profile });
  const publicUrlSettings = {
    ...connection,
    bucket: options.profile.bucket,
    publicBaseUrl: options.profile.publicBaseUrl,
  };
  // One signer per driver: it keeps the derived signing key for the day.
  const sign = createQuerySigner({
    bucketUrl: bucketUrl(publicUrlSettings),
    region: connection.region,
    checksumMode: connection.checksums === 'when_supported',
  });
  const quickHead = createQuickHead({
    bucketUrl: internalBucketUrl,
    region: connection.region,
    credentials,
    timeoutMs: connection.requestTimeout * 1000,
  });
  const quickGet = createQuickGet({
    bucketUrl: internalBucketUrl,
    region: connection.region,
    credentials,
    timeoutMs: connection.requestTimeout * 1000,
    connectTimeoutMs: connection.connectTimeout * 1000,
  });

  return {
    kind: 's3',
    resumable: s3ResumableStore(context),
    direct: {
      presign: (operation, expiresIn) => presignDirect(context, operation, expiresIn),
      inspect: (key) => inspectStaged(context, key),
      readHead: (key, etag, bytes) => readStagedHead(context, key, etag, bytes),
      async promote(input) {
        refuseUnenforced(conditions?.problem); // the promotion is create-only, whatever the profile
        return promoteStaged(context, input);
      },
      findPromoted: (stem, writeId) => findPromoted(context, stem, writeId),
    },
    partBufferSize: (write) => partBufferSize(context, write),
    async put(input) {
      if (!input.overwrite) refuseUnenforced(conditions?.problem);
      return putObject(context, input);
    },
    get: (input) => quickGetObject(context, quickGet, input),
    head: (key) => quickHeadObject(context, quickHead, key),
    async delete(key) {
      try {
        // S3 answers 204 for a missing key too: idempotent as the contract wants.
        await client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key }));
      } catch (error) {
        throw toAppError(error, { operation: 'DeleteObject' });
      }
    },
    list: (input) => listObjects(context, input),
    presignGet: (input) => presignGet(context, sign, input),
    publicUrl: (key) => buildPublicUrl(key, publicUrlSettings),
    async check() {
      const timeout = AbortSignal.timeout(CHECK_TIMEOUT_MS);
      try {
        await client.send(new HeadBucketCommand({ Bucket: context.bucket }), { abortSignal: timeout });
      } catch (error) {
        if (timeout.aborted) {
          throw new AppError('STORAGE_TIMEOUT', 'The storage backend did not answer in time', {
            backend: { operation: 'HeadBucket', code: 'TimeoutError' },
            cause: error,
          });
        }
        throw toAppError(error, { operation: 'HeadBucket' });
      }
      await conditions?.check();
    },
    async close() {
      context.cleanups.close();
      quickHead.close();
      quickGet.close();
      quickPut.close();
      client.destroy();
      streamClient.destroy();
      presignClient.destroy();
    },
  };
}

/**
 * Once the probe found that the server does not enforce the conditions, a create-only write could
 * overwrite an object: refuse it rather than lose the guarantee silently.
 */
function refuseUnenforced(problem: string | undefined): void {
  if (problem === undefined) return;
  throw new AppError('STORAGE_NOT_SUPPORTED', 'The storage backend does not enforce create-only writes', {
    cause: new Error(problem),
  });
}
