import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configFile, exampleEnv, runCli } from './run-cli.ts';

/**
 * `stowage iam-policy`: for the example config, exactly the statements Stowage needs — every bucket,
 * object actions narrowed to each storage's prefix, listing narrowed by prefix, nothing else — and
 * the extras only where the config asks for them (ACLs, customer KMS keys, other partitions).
 */

const example = fileURLToPath(new URL('../../stowage.example.yaml', import.meta.url));
const env = exampleEnv({ media: 'acme-media', private: 'acme-private', exports: 'acme-exports' });
const files: string[] = [];
afterAll(() => Promise.all(files.map((file) => rm(file, { force: true }))));

interface Policy {
  Version: string;
  Statement: Array<{
    Sid: string;
    Effect: string;
    Action: string[];
    Resource: string | string[];
    Condition?: unknown;
  }>;
}

async function policyFor(storages: Record<string, unknown>, s3: object = {}): Promise<Policy> {
  const path = await configFile({ s3, storages }, 'iam');
  files.push(path);
  const run = await runCli(['iam-policy', '--config', path]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Policy;
}

const objectActions = [
  's3:PutObject',
  's3:GetObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
];

describe('stowage iam-policy', () => {
  it('is the minimal policy for the example config', async () => {
    const run = await runCli(['iam-policy', '--config', example], env);
    expect(run.code, run.stderr).toBe(0);
    const policy = JSON.parse(run.stdout) as Policy;
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ObjectsMedia',
          Effect: 'Allow',
          Action: objectActions,
          Resource: [
            'arn:aws:s3:::acme-media/uploads/*',
            'arn:aws:s3:::acme-media/.stowage-resumable/uploads/*',
          ],
        },
        {
          Sid: 'ObjectsPrivate',
          Effect: 'Allow',
          Action: objectActions,
          Resource: 'arn:aws:s3:::acme-private/*',
        },
        {
          Sid: 'ObjectsExports',
          Effect: 'Allow',
          Action: objectActions,
          Resource: [
            'arn:aws:s3:::acme-exports/exports/*',
            'arn:aws:s3:::acme-exports/.stowage-resumable/exports/*',
          ],
        },
        ...['media', 'private', 'exports'].map((name) => ({
          Sid: `DirectStaging${name[0]?.toUpperCase()}${name.slice(1)}`,
          Effect: 'Allow',
          Action: objectActions,
          Resource: `arn:aws:s3:::acme-${name}/.stowage-direct/*`,
        })),
        {
          Sid: 'ListMedia',
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
          Resource: 'arn:aws:s3:::acme-media',
          Condition: {
            StringLikeIfExists: {
              's3:prefix': ['uploads/*', '.stowage-resumable/uploads/*', '.stowage-direct/*'],
            },
          },
        },
        {
          Sid: 'ListPrivate',
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
          Resource: 'arn:aws:s3:::acme-private',
        },
        {
          Sid: 'ListExports',
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
          Resource: 'arn:aws:s3:::acme-exports',
          Condition: {
            StringLikeIfExists: {
              's3:prefix': ['exports/*', '.stowage-resumable/exports/*', '.stowage-direct/*'],
            },
          },
        },
        {
          Sid: 'CheckBucketRules',
          Effect: 'Allow',
          Action: ['s3:GetLifecycleConfiguration', 's3:GetBucketCORS'],
          Resource: ['arn:aws:s3:::acme-media', 'arn:aws:s3:::acme-private', 'arn:aws:s3:::acme-exports'],
        },
      ],
    });
    // No ACL, no KMS in the example: neither s3:PutObjectAcl nor kms:* is granted.
    expect(run.stdout).not.toMatch(/PutObjectAcl|kms:/);
  });

  it('leaves out what only `check` needs with --service-only', async () => {
    const run = await runCli(['iam-policy', '--config', example, '--service-only'], env);
    const sids = (JSON.parse(run.stdout) as Policy).Statement.map((statement) => statement.Sid);
    expect(sids).not.toContain('CheckBucketRules');
    expect(sids).toHaveLength(9);
  });

  it('adds s3:PutObjectAcl only for a storage with an ACL, and merges storages sharing a bucket', async () => {
    const policy = await policyFor({
      avatars: { driver: 's3', bucket: 'shared', prefix: 'avatars/', acl: 'public-read' },
      docs: { driver: 's3', bucket: 'shared', prefix: 'docs/' },
    });
    const byId = Object.fromEntries(policy.Statement.map((statement) => [statement.Sid, statement]));
    expect(byId.ObjectsAvatars?.Action).toEqual([...objectActions, 's3:PutObjectAcl']);
    expect(byId.ObjectsDocs?.Action).toEqual(objectActions);
    expect(byId.ListAvatarsDocs).toEqual({
      Sid: 'ListAvatarsDocs',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
      Resource: 'arn:aws:s3:::shared',
      Condition: {
        StringLikeIfExists: {
          's3:prefix': [
            'avatars/*',
            '.stowage-resumable/avatars/*',
            'docs/*',
            '.stowage-resumable/docs/*',
            '.stowage-direct/*',
          ],
        },
      },
    });
    // One staging area per bucket, at its root, whatever the storages' prefixes.
    expect(byId.DirectStagingAvatarsDocs?.Resource).toBe('arn:aws:s3:::shared/.stowage-direct/*');
  });

  it('grants KMS on a customer key (by ARN or alias) through S3 only, and nothing for the aws/s3 key', async () => {
    const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const policy = await policyFor(
      {
        'by-arn': { driver: 's3', bucket: 'a-bucket', serverSideEncryption: 'aws:kms', kmsKeyId: keyArn },
        'by-alias': {
          driver: 's3',
          bucket: 'b-bucket',
          serverSideEncryption: 'aws:kms',
          kmsKeyId: 'alias/stowage',
        },
        managed: { driver: 's3', bucket: 'c-bucket', serverSideEncryption: 'aws:kms' },
        sse: { driver: 's3', bucket: 'd-bucket', serverSideEncryption: 'AES256' },
      },
      { region: 'eu-west-1' },
    );
    const kms = policy.Statement.filter((statement) => statement.Sid.startsWith('Kms'));
    expect(kms).toEqual([
      {
        Sid: 'KmsByArn',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
      {
        Sid: 'KmsByAlias',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: 'arn:aws:kms:eu-west-1:*:key/*',
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/stowage' },
        },
      },
    ]);
  });

  it('uses the partition of the region in every ARN', async () => {
    const policy = await policyFor({ media: { driver: 's3', bucket: 'cn-media' } }, { region: 'cn-north-1' });
    const resources = policy.Statement.flatMap((statement) => [statement.Resource].flat());
    expect(resources.every((resource) => resource.startsWith('arn:aws-cn:s3:::cn-media'))).toBe(true);
  });

  it('says so when there is no S3 storage', async () => {
    const path = await configFile({ storages: { files: { driver: 'local' } } }, 'iam-local');
    files.push(path);
    const run = await runCli(['iam-policy', '--config', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('no S3 storage');
  });
});
