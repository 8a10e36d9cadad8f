import { rm } from 'node:fs/promises';
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from '../support/s3-admin.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * The lifecycle rules resumable uploads need (issue 14, point 5): `stowage bucket-lifecycle` prints
 * them, Ceph takes them as printed, and `check` reports each one missing, and rules that would act
 * before `resumable.expiry` (they would take parts or tails of uploads still running).
 */
const s3 = s3Client();
let bucket = '';
const files: string[] = [];

beforeAll(async () => {
  bucket = await createTestBucket(inject('s3'), 'lifecycle');
});
afterAll(async () => {
  await emptyAndDeleteBucket(bucket);
  await Promise.all(files.map((file) => rm(file, { force: true })));
  s3.destroy();
});

async function config(resumable: Record<string, unknown> = {}): Promise<string> {
  const path = await configFile(
    {
      s3: s3Connection(inject('s3')),
      resumable,
      storages: { uploads: { driver: 's3', bucket, prefix: 'in/' } },
    },
    'lifecycle',
  );
  files.push(path);
  return path;
}

const setRules = (Rules: LifecycleRule[]) =>
  s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));

async function lifecycleStep(path: string) {
  const run = await runCli(['check', '--config', path, '--json']);
  const [report] = (
    JSON.parse(run.stdout) as {
      storages: Array<{ steps: Record<string, { status: string; problem?: string; note?: string }> }>;
    }
  ).storages;
  return report?.steps.lifecycle;
}

describe('lifecycle rules for resumable uploads', () => {
  it('bucket-lifecycle prints the three rules, no sooner than their expiries; applied as printed, check passes', async () => {
    const path = await config({ expiry: '36h' });
    const printed = await runCli(['bucket-lifecycle', '--config', path]);
    expect(printed.code).toBe(0);
    const rules = JSON.parse(printed.stdout) as { Rules: LifecycleRule[] };
    expect(rules.Rules).toEqual([
      {
        ID: 'stowage-abort-incomplete-multipart-uploads',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      },
      {
        ID: 'stowage-expire-resumable-state',
        Status: 'Enabled',
        Filter: { Prefix: '.stowage-resumable/' },
        Expiration: { Days: 2 },
      },
      {
        ID: 'stowage-expire-direct-staging',
        Status: 'Enabled',
        Filter: { Prefix: '.stowage-direct/' },
        Expiration: { Days: 1 },
      },
    ]);
    expect(printed.stderr).toContain('put-bucket-lifecycle-configuration');
    await setRules(rules.Rules);
    const stored = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect(stored.Rules?.map((rule) => rule.ID).sort()).toEqual([
      'stowage-abort-incomplete-multipart-uploads',
      'stowage-expire-direct-staging',
      'stowage-expire-resumable-state',
    ]);
    expect(await lifecycleStep(path)).toEqual({ status: 'ok', note: 'abort 2d, state 2d, staging 1d' });
  });

  it('warns when the resumable state is not expired, naming the prefix', async () => {
    await setRules([
      {
        ID: 'abort',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
      { ID: 'staging', Status: 'Enabled', Filter: { Prefix: '.stowage-direct/' }, Expiration: { Days: 1 } },
    ]);
    const step = await lifecycleStep(await config());
    expect(step?.status).toBe('warn');
    expect(step?.note).toBe('abort 1d, state -, staging 1d');
    expect(step?.problem).toContain(
      `no lifecycle rule on arn:aws:s3:::${bucket} expires ".stowage-resumable/in/"`,
    );
    expect(step?.problem).not.toContain('aborts incomplete');
    expect(step?.problem).toContain('stowage gc');
  });

  it('warns when the multipart rule is missing, or a rule acts sooner than resumable.expiry', async () => {
    await setRules([
      { ID: 'state', Status: 'Enabled', Filter: { Prefix: '.stowage-resumable/' }, Expiration: { Days: 1 } },
      { ID: 'staging', Status: 'Enabled', Filter: { Prefix: '.stowage-direct/' }, Expiration: { Days: 1 } },
    ]);
    const noAbort = await lifecycleStep(await config());
    expect(noAbort?.problem).toContain('aborts incomplete multipart uploads under "in/"');
    expect(noAbort?.problem).not.toContain('expires');

    await setRules([
      {
        ID: 'abort',
        Status: 'Enabled',
        Filter: { Prefix: 'in/' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
      // A disabled rule, and one for another prefix, cover nothing.
      { ID: 'off', Status: 'Disabled', Filter: { Prefix: '.stowage-resumable/' }, Expiration: { Days: 9 } },
      {
        ID: 'state',
        Status: 'Enabled',
        Filter: { Prefix: '.stowage-resumable/in/' },
        Expiration: { Days: 1 },
      },
      { ID: 'staging', Status: 'Enabled', Filter: { Prefix: '.stowage-direct/' }, Expiration: { Days: 1 } },
    ]);
    const tooSoon = await lifecycleStep(await config({ expiry: '3d' }));
    expect(tooSoon?.status).toBe('warn');
    expect(tooSoon?.note).toBe('abort 1d, state 1d, staging 1d');
    expect(tooSoon?.problem).toContain(
      'aborts incomplete multipart uploads after 1d, sooner than resumable.expiry (3d)',
    );
    expect(tooSoon?.problem).toContain(
      'expires ".stowage-resumable/in/" after 1d, sooner than resumable.expiry (3d)',
    );
    // With the default expiry (24h), the same rules are enough.
    expect(await lifecycleStep(await config())).toMatchObject({ status: 'ok' });
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    expect(await lifecycleStep(await config())).toMatchObject({ status: 'warn', note: 'missing' });
  });
});
