import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { isAppError } from '../errors.ts';
import { createLinks, createStorages } from '../storage/registry.ts';
import type { Storage } from '../storage/storage.ts';
import { newReport, type StepName, type StorageReport } from './check-report.ts';
import { checkS3Storage } from './check-s3.ts';
import { s3Storages } from './permissions.ts';

/**
 * Runs `check` on every storage (or the named ones), in parallel: S3 storages with raw S3 calls that
 * name the missing permission (check-s3.ts), local storages through their driver.
 */
export async function checkStorages(config: Config, only: readonly string[] = []): Promise<StorageReport[]> {
  const unknown = only.filter((name) => !(name in config.storages));
  if (unknown.length > 0)
    throw new Error(`no storage named ${unknown.map((name) => `"${name}"`).join(', ')}`);
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  const s3 = s3Storages(config).filter((storage) => wanted(storage.name));
  const local = [...createStorages(localOnly(config), createLinks(config)).values()].filter((storage) =>
    wanted(storage.name),
  );
  const reports = await Promise.all([
    ...s3.map((storage) =>
      checkS3Storage(
        storage,
        undefined,
        { resumable: config.resumable.expiry, direct: config.direct.expiry },
        config.auth.cors?.origins ?? [],
      ),
    ),
    ...local.map((storage) =>
      checkLocalStorage(storage, resolve(localDirectory(storage) ?? join(config.local.root, storage.name))),
    ),
  ]);
  const order = Object.keys(config.storages);
  return reports.sort((a, b) => order.indexOf(a.storage) - order.indexOf(b.storage));
}

/** The config with only its local storages, so no S3 client is built for them. */
function localOnly(config: Config): Config {
  const storages = Object.fromEntries(
    Object.entries(config.storages).filter(([, profile]) => profile.driver === 'local'),
  );
  return { ...config, storages };
}

const localDirectory = ({ profile }: Storage): string | undefined =>
  profile.driver === 'local' ? profile.directory : undefined;

/** A local storage: its directory is usable and a probe file can be written, read, listed and removed. */
async function checkLocalStorage(storage: Storage, directory: string): Promise<StorageReport> {
  const { driver, profile } = storage;
  const report = newReport(storage.name, 'local', directory);
  const key = `${profile.prefix}stowage-check-${randomBytes(8).toString('hex')}.txt`;
  const body = Buffer.from('stowage check probe\n');
  const step = async (name: StepName, call: () => Promise<unknown>): Promise<boolean> => {
    try {
      await call();
      report.steps[name] = { status: 'ok' };
      return true;
    } catch (error) {
      const message = isAppError(error) ? `${error.code}: ${error.message}` : String(error);
      report.steps[name] = { status: 'fail', problem: `${name} failed in ${directory} (${message})` };
      return false;
    }
  };
  try {
    if (!(await step('bucket', () => driver.check()))) return report;
    const stored = await step('put', () =>
      driver.put({
        key,
        body: Readable.from([body]),
        metadata: { contentType: 'text/plain' },
        overwrite: false,
      }),
    );
    if (stored) {
      await step('read', async () => {
        const result = await driver.get({ key });
        if (result.notModified) throw new Error('unexpected 304');
        const chunks: Buffer[] = [];
        for await (const chunk of result.body) chunks.push(chunk as Buffer);
        if (!Buffer.concat(chunks).equals(body)) throw new Error('read back different bytes');
      });
    }
    await step('list', () => driver.list({ prefix: profile.prefix, limit: 1 }));
    if (stored) await step('delete', () => driver.delete(key));
    return report;
  } finally {
    await driver.close();
  }
}
