import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { configFile, exampleEnv, runCli } from './run-cli.ts';

/** `stowage config` validates and prints the resolved config without a secret; `hash-key` makes keys it accepts. */

const example = fileURLToPath(new URL('../../stowage.example.yaml', import.meta.url));
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const env = {
  ...exampleEnv({ media: 'acme-media', private: 'acme-private', exports: 'acme-exports' }),
  AWS_ENDPOINT_URL_S3: 'https://s3.example.test',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: SECRET,
};
const files: string[] = [];
afterAll(() => Promise.all(files.map((file) => rm(file, { force: true }))));

describe('stowage config', () => {
  it('prints every storage resolved, with its merged connection, and masks the secrets', async () => {
    const run = await runCli(['config', '--config', example], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('config is valid');
    expect(run.stdout).not.toContain(SECRET);
    const view = parse(run.stdout) as {
      storages: Record<string, { bucket: string; maxFileSize: number; connection: Record<string, unknown> }>;
    };
    expect(Object.keys(view.storages)).toEqual(['media', 'private', 'exports']);
    expect(view.storages.media?.bucket).toBe('acme-media');
    expect(view.storages.media?.maxFileSize).toBe(20 * 2 ** 20);
    expect(view.storages.exports?.connection).toMatchObject({
      endpoint: 'https://s3.example.test',
      region: 'us-east-1',
      checksums: 'when_required',
      credentials: { accessKeyId: 'AKIA…MPLE', secretAccessKey: '********' },
    });
  });

  it('masks every secret the config can hold: session tokens, signing secrets, JWT secrets, URL passwords', async () => {
    const secrets = {
      session: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN0000000000',
      signing: 'a-local-signing-secret-of-32-characters-or-more',
      jwt: 'a-jwt-shared-secret-of-at-least-32-characters!',
      password: 'hunter2-in-the-url',
    };
    const path = await configFile(
      {
        s3: {
          endpoint: `https://user:${secrets.password}@s3.example.test`,
          credentials: {
            accessKeyId: 'AKIAEXAMPLE0001',
            secretAccessKey: SECRET,
            sessionToken: secrets.session,
          },
        },
        local: { signingSecret: secrets.signing },
        auth: { jwt: { secret: secrets.jwt, issuer: 'https://id.example.test', audience: 'stowage' } },
        storages: { media: { driver: 's3', bucket: 'media' }, scratch: { driver: 'local' } },
      },
      'secrets',
    );
    files.push(path);
    const run = await runCli(['config', '--config', path, '--json']);
    expect(run.code, run.stderr).toBe(0);
    for (const secret of [SECRET, ...Object.values(secrets)]) expect(run.stdout).not.toContain(secret);
    const view = JSON.parse(run.stdout) as {
      local: { signingSecret: string };
      auth: { jwt: { secret: string } };
      storages: { media: { connection: { endpoint: string; credentials: Record<string, string> } } };
    };
    expect(view.local.signingSecret).toBe('********');
    expect(view.auth.jwt.secret).toBe('********');
    expect(view.storages.media.connection.credentials.sessionToken).toBe('********');
    expect(view.storages.media.connection.endpoint).toBe('https://user:********@s3.example.test/');
  });

  it('rejects an invalid config with every problem named, and exit 1', async () => {
    const path = await configFile(
      { storages: { media: { driver: 's3', bucket: 'Bad_Bucket', maxFileSize: '5 MeB' } } },
      'invalid',
    );
    files.push(path);
    const run = await runCli(['config', '--config', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('storages.media.bucket: must be a valid S3 bucket name');
    expect(run.stderr).toContain('storages.media.maxFileSize: invalid size "5 MeB"');
  });

  it('explains usage errors with exit 2', async () => {
    expect((await runCli([])).code).toBe(2);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect((await runCli(['check', '--no-such-option'])).code).toBe(2);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/check[\s\S]*iam-policy[\s\S]*config[\s\S]*hash-key/);
  });
});

describe('stowage hash-key', () => {
  it('makes a fresh key and the sha256 hash that auth.apiKeys accepts', async () => {
    const first = await runCli(['hash-key']);
    const second = await runCli(['hash-key']);
    expect(first.code).toBe(0);
    const [, key, hash] = /^key: {2}(stw_[\w-]{43})\nhash: (sha256:[0-9a-f]{64})\n$/.exec(first.stdout) ?? [];
    expect(key).toBeDefined();
    expect(hash).toBe(`sha256:${createHash('sha256').update(key!).digest('hex')}`);
    expect(second.stdout).not.toBe(first.stdout);
    const config = parseConfig(
      {
        auth: { apiKeys: [{ name: 'svc', hash, grants: ['*:*'] }] },
        storages: { files: { driver: 'local' } },
      },
      {},
    );
    expect(config.auth.apiKeys[0]?.name).toBe('svc');
  });
});
