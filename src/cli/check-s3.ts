import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { probeConditionalWrites } from '../storage/drivers/s3/conditions-probe.ts';
import { createS3Clients } from '../storage/drivers/s3/connection.ts';
import { httpStatusOf } from '../storage/drivers/s3/errors.ts';
import { objectParams } from '../storage/drivers/s3/params.ts';
import { DEFAULT_EXPIRIES, type UploadExpiries } from './bucket-settings.ts';
import { classify } from './check-classify.ts';
import { checkBucketCors } from './check-cors.ts';
import { checkLifecycle } from './check-lifecycle.ts';
import { checkPublicRead } from './check-public.ts';
import { newReport, type StepName, type StorageReport } from './check-report.ts';
import { bucketArn, missingPermission, type Operation, type S3Storage } from './permissions.ts';

/**
 * `check` for one S3 storage, with the storage's own connection and credentials: the bucket exists;
 * a probe object can be written (with the storage's ACL and encryption), read back, listed and
 * deleted, and, for a public storage, read anonymously at its public URL (check-public.ts); the
 * server enforces the conditional writes create-only storages rest on (conditions-probe.ts); a
 * multipart upload can be started and aborted; and the bucket has the lifecycle rules Stowage
 * relies on (check-lifecycle.ts). The probe is removed at the end.
 */

class Stop extends Error {}

export async function checkS3Storage(
  storage: S3Storage,
  timeoutMs = 10_000,
  expiries: UploadExpiries = DEFAULT_EXPIRIES,
  /** `auth.cors.origins`: the browsers the bucket's CORS rules must let in. */
  origins: readonly string[] = [],
): Promise<StorageReport> {
  const { profile } = storage;
  const report = newReport(storage.name, 's3', `s3://${profile.bucket}/${profile.prefix}`);
  const { client, presignClient } = createS3Clients({ ...storage.connection, maxAttempts: 1 });
  const probe = `${profile.prefix}stowage-check-${randomBytes(8).toString('hex')}.txt`;
  const body = `stowage check probe ${new Date().toISOString()}\n`;

  const fail = (step: StepName, problem: string) => {
    report.steps[step] = { status: 'fail', problem };
  };
  /** Runs one call for a step; records why it failed, and stops the whole check when going on is pointless. */
  const attempt = async <T>(step: StepName, operation: Operation, call: () => Promise<T>) => {
    try {
      return { ok: true as const, value: await call() };
    } catch (error) {
      const failure = classify(error);
      if (failure.kind === 'credentials') {
        credentialsRejected = true;
        fail(
          step,
          `S3 rejected the credentials (${operation}: ${failure.code}): check the access key and secret for this endpoint and region`,
        );
        throw new Stop();
      }
      if (failure.kind === 'unreachable') {
        fail(
          step,
          `cannot reach S3 at ${storage.connection.endpoint ?? 'the AWS endpoint'} (${failure.code})`,
        );
        throw new Stop();
      }
      if (failure.kind === 'no-bucket') {
        fail(step, `bucket ${bucketArn(storage)} does not exist (${operation}: ${failure.code})`);
        throw new Stop();
      }
      if (failure.kind === 'denied')
        fail(step, `missing ${missingPermission(storage, operation)} (${operation}: ${failure.code})`);
      else fail(step, `${operation} failed on ${bucketArn(storage)}: ${failure.code}`);
      return { ok: false as const, error };
    }
  };
  const deadline = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });

  let stored = false;
  let headForbidden = false;
  let credentialsRejected = false;
  try {
    // HeadBucket errors have no body: 404 is a missing bucket, but a 403 may be a missing s3:ListBucket
    // or bad credentials. The calls below, whose errors say which, decide (see the end).
    const head = await client.send(new HeadBucketCommand({ Bucket: profile.bucket }), deadline()).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (head === undefined) report.steps.bucket = { status: 'ok' };
    else if (httpStatusOf(head) === 404) {
      fail('bucket', `bucket ${bucketArn(storage)} does not exist (HeadBucket: 404)`);
      throw new Stop();
    } else if (classify(head).kind !== 'denied')
      await attempt('bucket', 'HeadBucket', () => Promise.reject(head));
    else headForbidden = true;

    const params = objectParams(profile.bucket, profile, probe, { contentType: 'text/plain' });
    const put = await attempt('put', 'PutObject', () =>
      client.send(new PutObjectCommand({ ...params, Body: body }), deadline()),
    );
    if (put.ok) {
      stored = true;
      report.steps.put = { status: 'ok' };
      const read = await attempt('read', 'GetObject', async () => {
        const output = await client.send(
          new GetObjectCommand({ Bucket: profile.bucket, Key: probe }),
          deadline(),
        );
        return output.Body?.transformToString();
      });
      if (read.ok && read.value === body) report.steps.read = { status: 'ok' };
      else if (read.ok) fail('read', `the probe object read back different bytes from ${bucketArn(storage)}`);
      report.steps.public = await checkPublicRead(storage, probe, body, timeoutMs);
    }

    const list = await attempt('list', 'ListObjectsV2', () =>
      client.send(
        new ListObjectsV2Command({ Bucket: profile.bucket, Prefix: profile.prefix, MaxKeys: 1 }),
        deadline(),
      ),
    );
    if (list.ok) report.steps.list = { status: 'ok' };

    if (profile.overwrite) report.steps.conditions = { status: 'skip', note: 'overwrite' };
    else {
      const probe = await attempt('conditions', 'PutObject', () =>
        probeConditionalWrites({ client, bucket: profile.bucket, profile }, deadline),
      );
      if (probe.ok) {
        const verdict = probe.value;
        if (verdict.supported) report.steps.conditions = { status: 'ok' };
        else fail('conditions', verdict.problem);
      }
    }

    await checkMultipart(storage, params, attempt, client, deadline, report);

    if (stored) {
      const removed = await attempt('delete', 'DeleteObject', () =>
        client.send(new DeleteObjectCommand({ Bucket: profile.bucket, Key: probe }), deadline()),
      );
      if (removed.ok) {
        stored = false;
        report.steps.delete = { status: 'ok' };
      } else {
        const problem = report.steps.delete.problem;
        report.steps.delete.problem = `${problem}; the probe object s3://${profile.bucket}/${probe} is left behind`;
      }
    }

    report.steps.lifecycle = await checkLifecycle(storage, client, expiries, deadline());
    report.steps.cors = await checkBucketCors(storage, client, origins, deadline());
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  } finally {
    if (stored)
      await client
        .send(new DeleteObjectCommand({ Bucket: profile.bucket, Key: probe }), deadline())
        .catch(() => {});
    client.destroy();
    presignClient.destroy();
  }
  // The credentials work, yet HeadBucket was refused: s3:ListBucket on the bucket is missing.
  if (headForbidden && !credentialsRejected) {
    fail('bucket', `missing ${missingPermission(storage, 'HeadBucket')} (HeadBucket: 403)`);
  }
  return report;
}

type Deadline = () => { abortSignal: AbortSignal };

type Attempt = <T>(
  step: StepName,
  operation: Operation,
  call: () => Promise<T>,
) => Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;

/** Large uploads are multipart: starting one needs s3:PutObject, cleaning up after a failure s3:AbortMultipartUpload. */
async function checkMultipart(
  storage: S3Storage,
  params: ReturnType<typeof objectParams>,
  attempt: Attempt,
  client: S3Client,
  deadline: Deadline,
  report: StorageReport,
): Promise<void> {
  const created = await attempt('multipart', 'CreateMultipartUpload', () =>
    client.send(new CreateMultipartUploadCommand(params), deadline()),
  );
  if (!created.ok) return;
  const uploadId = created.value.UploadId;
  const aborted = await attempt('multipart', 'AbortMultipartUpload', () =>
    client.send(
      new AbortMultipartUploadCommand({
        Bucket: storage.profile.bucket,
        Key: params.Key,
        UploadId: uploadId,
      }),
      deadline(),
    ),
  );
  if (aborted.ok) report.steps.multipart = { status: 'ok' };
  else {
    const problem = report.steps.multipart.problem;
    report.steps.multipart.problem = `${problem}; failed uploads would stay until a lifecycle rule removes them`;
  }
}
