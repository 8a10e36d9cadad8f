import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  DeleteBucketCorsCommand,
  DeleteBucketPolicyCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestBucket, emptyAndDeleteBucket, listAllKeys, s3Client } from '../support/s3-admin.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * A public storage's URLs are anonymous reads on the bucket, which S3 refuses without a bucket
 * policy: `check` reads its probe object anonymously at the public URL and names the missing policy;
 * `bucket-policy` prints that policy, and once it is applied (PutBucketPolicy, on the real S3 server)
 * the check passes. `bucket-cors` prints the CORS rules browsers need for presigned URLs; applied,
 * S3 answers a browser's preflight and exposes ETag.
 */

const s3 = s3Client();
const origin = 'https://app.example.com';
let bucket = '';
let path = '';

interface Report {
  ok: boolean;
  storages: Array<{ storage: string; steps: Record<string, { status: string; problem?: string }> }>;
}

beforeAll(async () => {
  bucket = await createTestBucket(inject('s3'), 'check-public');
  path = await configFile(
    {
      s3: s3Connection(inject('s3')),
      auth: { cors: { origins: [origin], maxAge: '5m' } },
      storages: {
        media: { driver: 's3', bucket, prefix: 'uploads/', access: 'public' },
        docs: { driver: 's3', bucket, prefix: 'docs/' },
      },
    },
    'public',
  );
});

afterAll(async () => {
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket })).catch(() => {});
  await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket })).catch(() => {});
  await emptyAndDeleteBucket(bucket);
  await rm(path, { force: true });
  s3.destroy();
});

const check = async () => {
  const run = await runCli(['check', '--config', path, '--json']);
  const report = JSON.parse(run.stdout) as Report;
  const step = (storage: string) => report.storages.find((entry) => entry.storage === storage)?.steps.public;
  return { code: run.code, media: step('media'), docs: step('docs') };
};

describe('check and the bucket settings of a public storage', () => {
  it('reports the missing bucket policy, prints it, and passes once it is applied', async () => {
    const before = await check();
    expect(before.code).toBe(1);
    expect(before.media?.status).toBe('fail');
    expect(before.media?.problem).toMatch(
      new RegExp(
        `^public URLs answer 403 \\(anonymous GET http://[^ ]+/${bucket}/uploads/stowage-check-[0-9a-f]+\\.txt\\): ` +
          `the bucket needs a policy allowing s3:GetObject on arn:aws:s3:::${bucket}/uploads/\\* to everyone`,
      ),
    );
    expect(before.docs?.status).toBe('skip'); // private: not read anonymously
    expect((await runCli(['check', '--config', path])).stdout).toContain('✗ media: public URLs answer 403');

    const printed = await runCli(['bucket-policy', '--config', path]);
    expect(printed.code, printed.stderr).toBe(0);
    const policy = JSON.parse(printed.stdout);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicReadMedia',
          Effect: 'Allow',
          Principal: '*',
          Action: ['s3:GetObject'],
          Resource: [`arn:aws:s3:::${bucket}/uploads/*`],
        },
      ],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: printed.stdout }));

    const after = await check();
    expect(after.media).toEqual({ status: 'ok' });
    expect(after.code).toBe(0);
    // Only the public prefix became readable, and the probes are gone.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'docs/secret.txt', Body: 'secret' }));
    const endpoint = inject('s3').endpoint.replace(/\/+$/, '');
    expect((await fetch(`${endpoint}/${bucket}/docs/secret.txt`)).status).toBe(403);
    expect(await listAllKeys(bucket)).toEqual(['docs/secret.txt']);
  });

  it('prints the CORS rules browsers need for presigned URLs, which S3 then honours', async () => {
    const printed = await runCli(['bucket-cors', '--config', path]);
    expect(printed.code, printed.stderr).toBe(0);
    const cors = JSON.parse(printed.stdout);
    expect(cors.CORSRules).toEqual([
      expect.objectContaining({
        AllowedOrigins: [origin],
        AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        MaxAgeSeconds: 300,
      }),
    ]);
    expect(cors.CORSRules[0].ExposeHeaders).toContain('ETag');
    await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: cors }));

    const key = `docs/${randomBytes(4).toString('hex')}.txt`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'hello' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 60 });
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    await preflight.arrayBuffer();
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/GET/);
    const read = await fetch(url, { headers: { origin } });
    expect(await read.text()).toBe('hello');
    expect(read.headers.get('access-control-allow-origin')).toBe(origin);
    expect(read.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('etag');
  });

  it('refuses to guess: no CORS origins configured, public storages on two buckets', async () => {
    const bare = await configFile(
      {
        s3: s3Connection(inject('s3')),
        storages: {
          a: { driver: 's3', bucket: 'bucket-a', access: 'public' },
          b: { driver: 's3', bucket: 'bucket-b', access: 'public' },
        },
      },
      'public-bare',
    );
    try {
      const cors = await runCli(['bucket-cors', '--config', bare]);
      expect(cors.code).toBe(1);
      expect(cors.stderr).toContain('auth.cors.origins is not set');
      const both = await runCli(['bucket-policy', '--config', bare]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('several buckets (bucket-a, bucket-b)');
      const one = await runCli(['bucket-policy', '--config', bare, '--storage', 'b']);
      expect(JSON.parse(one.stdout).Statement[0].Resource).toEqual(['arn:aws:s3:::bucket-b/*']);
    } finally {
      await rm(bare, { force: true });
    }
  });
});
