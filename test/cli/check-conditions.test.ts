import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CompatProxy, startCompatProxy } from '../support/compat-proxy.ts';
import { createTestBucket, emptyAndDeleteBucket, listAllKeys } from '../support/s3-admin.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * `stowage check` probes the conditional writes of every create-only S3 storage: through a proxy that
 * drops If-None-Match/If-Match and one that answers 501 (see test/support/compat-proxy.ts), the
 * check fails naming the server's answer and the opt-out; the real server passes.
 */
let bucket = '';
let ignoring: CompatProxy | undefined;
let refusing: CompatProxy | undefined;
let path = '';

beforeAll(async () => {
  bucket = await createTestBucket(inject('s3'), 'check-conditions');
  ignoring = await startCompatProxy(inject('s3'), 'drop');
  refusing = await startCompatProxy(inject('s3'), 'refuse');
  const via = (proxy: CompatProxy) => ({ endpoint: proxy.url });
  path = await configFile(
    {
      s3: s3Connection(inject('s3')),
      storages: {
        direct: { driver: 's3', bucket, prefix: 'direct/' },
        ignoring: { driver: 's3', bucket, prefix: 'ignoring/', s3: via(ignoring) },
        refusing: { driver: 's3', bucket, prefix: 'refusing/', s3: via(refusing) },
        optout: { driver: 's3', bucket, prefix: 'optout/', overwrite: true, s3: via(ignoring) },
      },
    },
    'conditions',
  );
});

afterAll(async () => {
  await Promise.all([ignoring?.close(), refusing?.close(), rm(path, { force: true })]);
  await emptyAndDeleteBucket(bucket);
});

type Steps = Record<string, { status: string; problem?: string; note?: string }>;

describe('stowage check: conditional writes', () => {
  it('fails a storage whose server ignores or refuses them, in one line naming the answer and overwrite: true', async () => {
    const run = await runCli(['check', '--config', path, '--json']);
    expect(run.code, run.stdout).toBe(1);
    const steps = Object.fromEntries(
      (JSON.parse(run.stdout) as { storages: Array<{ storage: string; steps: Steps }> }).storages.map(
        (report) => [report.storage, report.steps],
      ),
    );
    expect(steps.direct?.conditions).toEqual({ status: 'ok' });
    expect(steps.optout?.conditions).toEqual({ status: 'skip', note: 'overwrite' });
    expect(steps.ignoring?.conditions?.status).toBe('fail');
    expect(steps.ignoring?.conditions?.problem).toMatch(/does not enforce If-None-Match.*200 instead of 412/);
    expect(steps.ignoring?.conditions?.problem).toContain('overwrite: true');
    expect(steps.refusing?.conditions?.status).toBe('fail');
    expect(steps.refusing?.conditions?.problem).toMatch(/refuses conditional writes.*501 NotImplemented/);
    expect(steps.refusing?.conditions?.problem).toContain('overwrite: true');
    // Everything else about those storages works: only the conditions fail.
    for (const name of ['ignoring', 'refusing']) expect(steps[name]?.put?.status, name).toBe('ok');
    // The table run says the same, one line per storage.
    const table = await runCli(['check', '--config', path]);
    expect(table.stdout).toMatch(/✗ ignoring: the S3 server does not enforce If-None-Match/);
    expect(table.stdout).toMatch(/✗ refusing: the S3 server refuses conditional writes/);
    expect(await listAllKeys(bucket)).toEqual([]);
  });
});
