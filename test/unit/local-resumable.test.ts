import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { isAppError } from '../../src/errors.ts';
import type { ObjectMetadata, StorageDriver } from '../../src/storage/driver.ts';
import { createLocalDriver } from '../../src/storage/drivers/local/driver.ts';
import { createKeyLocks } from '../../src/storage/drivers/local/key-locks.ts';
import { DEFAULT_MODES } from '../../src/storage/drivers/local/modes.ts';
import { storageLayout } from '../../src/storage/drivers/local/paths.ts';
import type { LocalResumableStore } from '../../src/storage/drivers/local/resumable.ts';
import { uploadFiles } from '../../src/storage/drivers/local/resumable-files.ts';
import { seal } from '../../src/storage/drivers/local/resumable-seal.ts';
import { createLinkSigner } from '../../src/storage/drivers/local/signed-links.ts';
import type { OpenUpload, ResumableUpload } from '../../src/storage/resumable/store.ts';
import { newWriteId } from '../../src/storage/resumable/upload-id.ts';

/**
 * The local resumable store on a real directory, below the HTTP routes: what a crash leaves (a
 * sealed upload no request published, a lease whose process is gone, a body that broke off), what
 * reads and writes of the key see while an upload holds it, and the sweep of expired uploads.
 */
const metadata: ObjectMetadata = {
  contentType: 'application/x-test',
  contentDisposition: 'attachment; filename="t.bin"',
  originalName: 't.bin',
};
const describeHead = async () => metadata;

async function setup() {
  const sandbox = await mkdtemp(join(tmpdir(), 'stowage-resumable-'));
  onTestFinished(() => rm(sandbox, { recursive: true, force: true }));
  const directory = join(sandbox, 'r');
  const profile = configSchema.parse({ storages: { r: { driver: 'local' } } }).storages.r;
  if (profile?.driver !== 'local') throw new Error('unreachable');
  const driver = createLocalDriver({
    name: 'r',
    profile,
    directory,
    links: createLinkSigner({ secret: 'a-test-secret-of-at-least-32-characters' }),
    baseUrl: '',
  });
  onTestFinished(() => driver.close());
  const store = driver.resumable as LocalResumableStore;
  return { driver, store, directory };
}

const newUpload = (length: number, expiresAt = Date.now() + 60_000): ResumableUpload => ({
  key: `up/${randomBytes(8).toString('hex')}.bin`,
  writeId: newWriteId(),
  length,
  partSize: 0,
  expiresAt,
});

async function openState(store: LocalResumableStore, upload: ResumableUpload): Promise<OpenUpload> {
  const state = await store.progress(upload);
  if (state.status !== 'open') throw new Error(`the upload is ${state.status}`);
  return state;
}

const append = async (store: LocalResumableStore, upload: ResumableUpload, body: Readable) =>
  store.append({
    upload,
    state: await openState(store, upload),
    body,
    buffer: Buffer.alloc(0),
    describe: describeHead,
  });

/** An append whose client sends these chunks, one at a time, then goes away (ECONNRESET). */
async function appendThenBreakOff(store: LocalResumableStore, upload: ResumableUpload, chunks: string[]) {
  const body = new PassThrough();
  const appending = append(store, upload, body);
  appending.catch(() => {});
  for (const chunk of chunks) {
    body.write(Buffer.from(chunk));
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  return appending;
}

const codeOf = (error: unknown) => (isAppError(error) ? error.code : error);

const bodyOf = async (driver: StorageDriver, key: string) => {
  const got = await driver.get({ key });
  if (got.notModified) throw new Error('unreachable');
  const chunks: Buffer[] = [];
  for await (const chunk of got.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('local resumable store', () => {
  it('while an upload holds its key: reads answer 404, listings skip it, a create-only write finds it taken', async () => {
    const { driver, store } = await setup();
    const upload = newUpload(10);
    await store.begin(upload);
    await expect(driver.head(upload.key).catch(codeOf)).resolves.toBe('OBJECT_NOT_FOUND');
    await expect(driver.get({ key: upload.key }).catch(codeOf)).resolves.toBe('OBJECT_NOT_FOUND');
    expect((await driver.list({ prefix: '', limit: 10 })).objects).toEqual([]);
    const put = driver.put({
      key: upload.key,
      body: Readable.from([Buffer.from('x')]),
      metadata,
      overwrite: false,
    });
    await expect(put.catch(codeOf)).resolves.toBe('OBJECT_EXISTS');
    expect(await store.progress(upload)).toEqual({ status: 'open', offset: 0 });
  });

  it('an append at an offset the file has passed is refused with UPLOAD_OFFSET_MISMATCH, the bytes untouched', async () => {
    const { store } = await setup();
    const upload = newUpload(10);
    await store.begin(upload);
    const stale = await openState(store, upload);
    await append(store, upload, Readable.from([Buffer.from('abcd')]));
    const refused = store.append({
      upload,
      state: stale,
      body: Readable.from([Buffer.from('XXXX')]),
      buffer: Buffer.alloc(0),
      describe: describeHead,
    });
    await expect(refused.catch(codeOf)).resolves.toBe('UPLOAD_OFFSET_MISMATCH');
    expect(await store.progress(upload)).toEqual({ status: 'open', offset: 4 });
  });

  it('a body that breaks off keeps what arrived: the next request resumes after it', async () => {
    const { driver, store } = await setup();
    const upload = newUpload(20);
    await store.begin(upload);
    await expect(appendThenBreakOff(store, upload, ['0123456789'])).rejects.toThrow('aborted');
    expect(await store.progress(upload)).toEqual({ status: 'open', offset: 10 });
    const done = await append(store, upload, Readable.from([Buffer.from('abcdefghij')]));
    expect(done.finished?.etag).toMatch(/^".+"$/);
    expect((await bodyOf(driver, upload.key)).toString()).toBe('0123456789abcdefghij');
    expect(await driver.head(upload.key)).toMatchObject({ ...metadata, size: 20 });
  });

  it('a request cut off after the last byte but before the seal leaves the offset short of the length', async () => {
    const { driver, store } = await setup();
    const upload = newUpload(10);
    await store.begin(upload);
    // The last bytes are held until the body ends, and it never does.
    await expect(appendThenBreakOff(store, upload, ['0123', '456789'])).rejects.toThrow('aborted');
    // Not 10: a client told "complete" here would never see its object.
    expect(await store.progress(upload)).toEqual({ status: 'open', offset: 4 });
    await append(store, upload, Readable.from([Buffer.from('456789')]));
    expect((await bodyOf(driver, upload.key)).toString()).toBe('0123456789');
  });

  it('terminated while its last PATCH arrives: that PATCH answers UPLOAD_NOT_FOUND and nothing is stored', async () => {
    const { driver, store, directory } = await setup();
    const upload = newUpload(10);
    await store.begin(upload);
    const body = new PassThrough();
    const appending = append(store, upload, body);
    body.write(Buffer.from('0123'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await store.terminate(upload, { status: 'open', offset: 0 });
    body.end(Buffer.from('456789'));
    await expect(appending.catch(codeOf)).resolves.toBe('UPLOAD_NOT_FOUND');
    await expect(driver.head(upload.key).catch(codeOf)).resolves.toBe('OBJECT_NOT_FOUND');
    expect(await readdir(join(directory, '.resumable'))).toEqual([]);
  });

  it('an upload sealed by a request that died before publishing it is finished by the next HEAD', async () => {
    const { driver, store, directory } = await setup();
    const upload = newUpload(6);
    await store.begin(upload);
    const layout = {
      ...storageLayout(directory),
      storage: 'r',
      locks: createKeyLocks(),
      modes: DEFAULT_MODES,
    };
    const files = uploadFiles(layout, upload.writeId);
    // What the dying request got done: all bytes but the last chunk, then the seal with that chunk
    // (resumable-seal.ts step 1).
    await writeFile(files.data, 'sea');
    await seal(layout, upload, files, Buffer.from('led'), metadata);
    const progress = await store.progress(upload);
    expect(progress).toMatchObject({ status: 'finished', info: { key: upload.key, size: 6 } });
    expect((await bodyOf(driver, upload.key)).toString()).toBe('sealed');
    expect(await readdir(layout.resumableRoot)).toEqual([]);
  });

  it('a lease held by a live request refuses a second one (423); one left by a dead process is taken over at once', async () => {
    const { store, directory } = await setup();
    const upload = newUpload(10);
    await store.begin(upload);
    const held = await store.lease(upload);
    await expect(store.lease(upload).catch(codeOf)).resolves.toBe('UPLOAD_LOCKED');
    await held.release();
    const again = await store.lease(upload);
    await again.release();
    // A process of this host that is gone (SIGKILL mid-PATCH) left its lease behind.
    const dead = spawn(process.execPath, ['-e', '']);
    const pid = dead.pid ?? 0;
    await new Promise((resolve) => dead.once('exit', resolve));
    const lease = join(directory, '.resumable', upload.writeId, 'lease');
    await writeFile(lease, JSON.stringify({ holder: 'gone', pid, host: hostname() }));
    const taken = await store.lease(upload);
    await expect(store.lease(upload).catch(codeOf)).resolves.toBe('UPLOAD_LOCKED');
    await taken.release();
  });

  it('sweep removes expired uploads (reservation and state) and leaves running and finished ones', async () => {
    const { driver, store, directory } = await setup();
    const now = Date.now();
    const expired = newUpload(10, now - 1);
    const running = newUpload(10, now + 60_000);
    const finished = newUpload(3, now - 1);
    for (const upload of [expired, running, finished]) await store.begin(upload);
    await append(store, expired, Readable.from([Buffer.from('abc')]));
    await append(store, finished, Readable.from([Buffer.from('xyz')]));
    expect(await store.sweep(now)).toBe(1);
    expect(await store.progress(expired)).toEqual({ status: 'gone' });
    expect(await store.progress(running)).toEqual({ status: 'open', offset: 0 });
    expect((await bodyOf(driver, finished.key)).toString()).toBe('xyz');
    expect(await readdir(join(directory, '.resumable'))).toEqual([running.writeId]);
    expect(await readdir(join(directory, 'objects', 'up'))).toHaveLength(2); // running's reservation, finished
  });
});
