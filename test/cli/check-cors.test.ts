import { rm } from 'node:fs/promises';
import { type CORSRule, DeleteBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestBucket, emptyAndDeleteBucket, s3Client } from '../support/s3-admin.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * Bucket CORS for browsers (issue 15 point 5): `stowage bucket-cors` prints the rules for the
 * configured origins, Ceph takes them as printed and `check` passes; a bucket without rules, one that
 * does not allow an origin, or one that hides `ETag` (Uppy's multipart uploads fail without it) is a
 * warning naming what is missing. No configured origins: nothing to check.
 */
const s3 = s3Client();
let bucket = '';
const files: string[] = [];
const ORIGINS = ['https://app.example.com', 'http://localhost:*'];

beforeAll(async () => {
  bucket = await createTestBucket(inject('s3'), 'cors');
});
afterAll(async () => {
  await emptyAndDeleteBucket(bucket);
  await Promise.all(files.map((file) => rm(file, { force: true })));
  s3.destroy();
});

async function config(origins: string[] | undefined): Promise<string> {
  const path = await configFile(
    {
      s3: s3Connection(inject('s3')),
      ...(origins && { auth: { cors: { origins } } }),
      storages: { uploads: { driver: 's3', bucket, prefix: 'in/' } },
    },
    'cors',
  );
  files.push(path);
  return path;
}

const setRules = (CORSRules: CORSRule[]) =>
  s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules } }));

async function corsStep(path: string) {
  const run = await runCli(['check', '--config', path, '--json']);
  const [report] = (
    JSON.parse(run.stdout) as {
      storages: Array<{ steps: Record<string, { status: string; problem?: string; note?: string }> }>;
    }
  ).storages;
  return report?.steps.cors;
}

describe('bucket CORS rules for browsers', () => {
  it('no rules: a warning naming the origins; bucket-cors printed and applied: ok', async () => {
    const path = await config(ORIGINS);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
    const missing = await corsStep(path);
    expect(missing?.status).toBe('warn');
    expect(missing?.problem).toContain(`no CORS rules on arn:aws:s3:::${bucket}`);
    expect(missing?.problem).toContain('https://app.example.com');

    const printed = await runCli(['bucket-cors', '--config', path]);
    expect(printed.code).toBe(0);
    await setRules((JSON.parse(printed.stdout) as { CORSRules: CORSRule[] }).CORSRules);
    expect(await corsStep(path)).toEqual({ status: 'ok', note: '2 origins' });
  });

  it('an origin no rule allows, and a rule without ETag exposed or without DELETE, are named', async () => {
    await setRules([
      {
        AllowedOrigins: ['https://app.example.com'],
        AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['Content-Length'],
      },
    ]);
    const step = await corsStep(await config(ORIGINS));
    expect(step?.status).toBe('warn');
    expect(step?.problem).toContain('no CORS rule on');
    expect(step?.problem).toContain('allows http://localhost:*');
    expect(step?.problem).toContain('for https://app.example.com lacks DELETE, ExposeHeaders ETag');
  });

  it('a wildcard origin covers every configured one', async () => {
    await setRules([
      {
        AllowedOrigins: ['*'],
        AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
      },
    ]);
    expect((await corsStep(await config(ORIGINS)))?.status).toBe('ok');
  });

  it('without configured origins there is nothing to check', async () => {
    expect(await corsStep(await config(undefined))).toEqual({ status: 'skip', note: 'no origins' });
  });
});
