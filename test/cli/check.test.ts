import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bucketLifecycle } from '../../src/cli/bucket-settings.ts';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  listAllKeys,
  listMultipartUploads,
  s3Client,
} from '../support/s3-admin.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * `stowage check` against the real S3 server: all good (exit 0, nothing left behind), a missing
 * bucket, wrong credentials, and — where the server enforces bucket policies on the owner, as Ceph
 * does — deliberately denied permissions, each named with its IAM action and ARN (exit 1).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const s3 = s3Client();
const buckets: Record<'ruled' | 'bare' | 'denied' | 'aborts', string> = {
  ruled: '',
  bare: '',
  denied: '',
  aborts: '',
};
const files: string[] = [];

const abortIncomplete = {
  ID: 'abort-incomplete',
  Status: 'Enabled' as const,
  Filter: { Prefix: '' },
  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
};
const abortRule = {
  Rules: [
    abortIncomplete,
    {
      ID: 'expire-direct-staging',
      Status: 'Enabled' as const,
      Filter: { Prefix: '.stowage-direct/' },
      Expiration: { Days: 2 },
    },
  ],
};

beforeAll(async () => {
  const server = inject('s3');
  for (const label of Object.keys(buckets) as Array<keyof typeof buckets>) {
    buckets[label] = await createTestBucket(server, `check-${label}`);
  }
  // The rules `stowage bucket-lifecycle` prints (check-lifecycle.test.ts checks them one by one).
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: buckets.ruled,
      LifecycleConfiguration: bucketLifecycle(),
    }),
  );
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: buckets.denied, LifecycleConfiguration: abortRule }),
  );
  // Every rule but the staging expiry.
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: buckets.aborts,
      LifecycleConfiguration: {
        Rules: bucketLifecycle().Rules.filter((rule) => rule.ID !== 'stowage-expire-direct-staging'),
      },
    }),
  );
});

afterAll(async () => {
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: buckets.denied })).catch(() => {});
  await Promise.all(Object.values(buckets).map((bucket) => emptyAndDeleteBucket(bucket)));
  await Promise.all(files.map((file) => rm(file, { force: true })));
  s3.destroy();
});

async function config(
  storages: Record<string, unknown>,
  label: string,
  s3Override: object = {},
): Promise<string> {
  const path = await configFile({ s3: { ...s3Connection(inject('s3')), ...s3Override }, storages }, label);
  files.push(path);
  return path;
}

const stepsOf = (stdout: string) =>
  (
    JSON.parse(stdout) as {
      storages: Array<{ storage: string; steps: Record<string, { status: string; problem?: string }> }>;
    }
  ).storages;

describe('stowage check', () => {
  it('passes with working credentials, warns about a missing lifecycle rule, and leaves nothing behind', async () => {
    const path = await config(
      {
        media: { driver: 's3', bucket: buckets.ruled, prefix: 'uploads/' },
        private: { driver: 's3', bucket: buckets.bare },
        staging: { driver: 's3', bucket: buckets.aborts },
      },
      'good',
    );
    const run = await runCli(['check', '--config', path, '--json']);
    expect(run.code, run.stdout).toBe(0);
    const [media, priv, staging] = stepsOf(run.stdout);
    for (const step of ['bucket', 'put', 'read', 'list', 'conditions', 'multipart', 'delete', 'lifecycle']) {
      expect(media?.steps[step]?.status, step).toBe('ok');
    }
    expect(priv?.steps.delete?.status).toBe('ok');
    expect(priv?.steps.lifecycle?.status).toBe('warn');
    expect(priv?.steps.lifecycle?.problem).toContain(`arn:aws:s3:::${buckets.bare}`);
    // Aborting incomplete uploads is not enough: staged direct uploads never finalized must expire.
    expect(staging?.steps.lifecycle?.status).toBe('warn');
    expect(staging?.steps.lifecycle?.problem).toContain('expires ".stowage-direct/"');
    // The probe object and the probe multipart upload are gone again.
    for (const bucket of [buckets.ruled, buckets.bare, buckets.aborts]) {
      expect(await listAllKeys(bucket)).toEqual([]);
      expect(await listMultipartUploads(bucket)).toEqual([]);
    }
    // --strict: a warning fails too.
    expect((await runCli(['check', '--config', path, '--strict'])).code).toBe(1);
  });

  it('prints a table through the real binary and exits 0', async () => {
    const path = await config({ media: { driver: 's3', bucket: buckets.ruled, prefix: 'uploads/' } }, 'bin');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['src/cli.ts', 'check'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', STOWAGE_CONFIG: path },
    });
    const [header, row] = stdout.split('\n');
    expect(header).toMatch(
      /^STORAGE\s+WHERE\s+EXISTS\s+PUT\s+READ\s+PUBLIC\s+LIST\s+CREATE-ONLY\s+MULTIPART\s+DELETE\s+LIFECYCLE\s+CORS$/,
    );
    expect(row).toMatch(
      new RegExp(
        `^media\\s+s3://${buckets.ruled}/uploads/\\s+ok\\s+ok\\s+ok\\s+-\\s+ok\\s+ok\\s+ok\\s+ok\\s+ok \\(abort 1d, state 1d, staging 1d\\)\\s+- \\(no origins\\)$`,
      ),
    );
    expect(stderr).toContain('check passed');
  });

  it('fails on a bucket that does not exist, naming its ARN', async () => {
    const path = await config({ media: { driver: 's3', bucket: 'stowage-no-such-bucket-4711' } }, 'missing');
    const run = await runCli(['check', '--config', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ media: bucket arn:aws:s3:::stowage-no-such-bucket-4711 does not exist');
  });

  it('fails on wrong credentials, saying the credentials (not a permission) are the problem', async () => {
    const server = inject('s3');
    const path = await config({ media: { driver: 's3', bucket: buckets.bare } }, 'wrong-secret', {
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'not-the-secret-00000000000000000' },
    });
    const run = await runCli(['check', '--config', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ media: S3 rejected the credentials \(\w+: SignatureDoesNotMatch\)/);
    expect(run.stdout).not.toContain('missing s3:');
  });

  it('names each permission the bucket policy denies, with its action and ARN', async (context) => {
    const bucket = buckets.denied;
    const deny = (actions: string[], resource: string) => ({
      Effect: 'Deny',
      Principal: { AWS: ['*'] },
      Action: actions,
      Resource: [resource],
    });
    const policy = {
      Version: '2012-10-17',
      Statement: [
        deny(['s3:DeleteObject', 's3:AbortMultipartUpload'], `arn:aws:s3:::${bucket}/*`),
        deny(['s3:GetLifecycleConfiguration'], `arn:aws:s3:::${bucket}`),
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    // Only servers that apply a bucket policy to the owner's own requests can show this.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'policy-probe', Body: 'x' }));
    const enforced = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'policy-probe' })).then(
      () => false,
      () => true,
    );
    if (!enforced) {
      await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      return context.skip('this S3 server does not apply bucket policies to the bucket owner');
    }

    const path = await config({ uploads: { driver: 's3', bucket, prefix: 'in/' } }, 'denied');
    const run = await runCli(['check', '--config', path]);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `✗ uploads: missing s3:DeleteObject on arn:aws:s3:::${bucket}/in/* (DeleteObject: AccessDenied)`,
    );
    expect(run.stdout).toContain(
      `✗ uploads: missing s3:AbortMultipartUpload on arn:aws:s3:::${bucket}/in/* (AbortMultipartUpload: AccessDenied)`,
    );
    expect(run.stdout).toContain(
      `! uploads: cannot read the lifecycle rules: missing s3:GetLifecycleConfiguration on arn:aws:s3:::${bucket}`,
    );
    // What could not be deleted is named, so an operator can remove it.
    expect(run.stdout).toMatch(
      new RegExp(`probe object s3://${bucket}/in/stowage-check-[0-9a-f]+\\.txt is left behind`),
    );
    const table = run.stdout.split('\n');
    expect(table[1]).toMatch(
      /^uploads\s+\S+\s+ok\s+ok\s+ok\s+-\s+ok\s+ok\s+FAIL\s+FAIL\s+warn \(unknown\)\s+- \(no origins\)$/,
    );
  });
});
