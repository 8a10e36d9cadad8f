import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import type { ObjectMetadata } from '../../src/storage/driver.ts';
import { createLocalDriver } from '../../src/storage/drivers/local/driver.ts';
import { createLinkSigner } from '../../src/storage/drivers/local/signed-links.ts';
import { readLinkQuery } from '../../src/storage/drivers/local/urls.ts';

const signer = createLinkSigner({ secret: 'a-test-secret-of-at-least-32-characters' });

function localProfile(profile: Record<string, unknown> = {}) {
  const storage = configSchema.parse({ storages: { media: { driver: 'local', ...profile } } }).storages.media;
  if (storage?.driver !== 'local') throw new Error('unreachable');
  return storage;
}

async function setup(profile: Record<string, unknown> = {}, directoryName = 'media') {
  const sandbox = await mkdtemp(join(tmpdir(), 'stowage-local-'));
  onTestFinished(() => rm(sandbox, { recursive: true, force: true }));
  const directory = join(sandbox, directoryName);
  const options = {
    name: 'media',
    profile: localProfile(profile),
    directory,
    links: signer,
    baseUrl: 'https://stowage.test/',
  };
  const driver = createLocalDriver(options);
  onTestFinished(() => driver.close());
  return { driver, directory, sandbox };
}

const text = (value: string) => Readable.from([Buffer.from(value)]);
const meta: ObjectMetadata = { contentType: 'text/plain' };
const md5 = (data: Buffer | string) => `"${createHash('md5').update(data).digest('hex')}"`;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

const collect = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** Every file below `directory`, relative, so tests can show nothing was left behind. */
async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
}

/** A body that yields `bytes` and then fails with `error`. */
function failingBody(bytes: number, error: Error) {
  return Readable.from(
    (async function* () {
      yield Buffer.alloc(bytes, 7);
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw error;
    })(),
  );
}

describe('put and read back', () => {
  it('round-trips bytes exactly, across many chunks', async () => {
    const { driver } = await setup();
    const data = Buffer.from(Array.from({ length: 3 * 2 ** 20 + 17 }, (_, index) => (index * 31) % 256));
    const chunks = Array.from({ length: Math.ceil(data.length / 65_521) }, (_, index) =>
      data.subarray(index * 65_521, (index + 1) * 65_521),
    );
    const result = await driver.put({
      key: 'bin/data.bin',
      body: Readable.from(chunks),
      metadata: { contentType: 'application/octet-stream' },
      overwrite: false,
    });
    expect(result).toEqual({ key: 'bin/data.bin', size: data.length, replaced: false, etag: md5(data) });
    const got = await driver.get({ key: 'bin/data.bin' });
    if (got.notModified) throw new Error('unexpected 304');
    expect((await collect(got.body)).equals(data)).toBe(true);
    expect(got.info.size).toBe(data.length);
    expect(got.range).toBeUndefined();
  });

  it('returns the ObjectInfo shape of the S3 driver, with every stored field and nothing else', async () => {
    const { driver } = await setup();
    const before = Date.now();
    await driver.put({
      key: 'docs/résumé.pdf',
      body: text('%PDF-1.7'),
      metadata: {
        contentType: 'application/pdf',
        cacheControl: 'public, max-age=60',
        contentDisposition: 'attachment; filename="resume.pdf"',
        originalName: 'Résumé 📄.pdf',
      },
      overwrite: false,
    });
    const info = await driver.head('docs/résumé.pdf');
    expect(info).toStrictEqual({
      key: 'docs/résumé.pdf',
      size: 8,
      etag: md5('%PDF-1.7'),
      lastModified: expect.any(Date),
      contentType: 'application/pdf',
      cacheControl: 'public, max-age=60',
      contentDisposition: 'attachment; filename="resume.pdf"',
      originalName: 'Résumé 📄.pdf',
      sha256: sha256('%PDF-1.7'),
    });
    // Whole seconds, like S3 and HTTP dates.
    expect(info.lastModified.getMilliseconds()).toBe(0);
    expect(info.lastModified.getTime()).toBeGreaterThan(before - 1000);
    expect(info.lastModified.getTime()).toBeLessThanOrEqual(Date.now());

    const got = await driver.get({ key: 'docs/résumé.pdf' });
    expect(got.info).toStrictEqual(info);
    if (!got.notModified) got.body.destroy();
  });

  it('leaves out optional fields that were not given', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'plain', body: text('x'), metadata: meta, overwrite: false });
    expect(Object.keys(await driver.head('plain')).sort()).toEqual([
      'contentType',
      'etag',
      'key',
      'lastModified',
      'sha256',
      'size',
    ]);
  });

  it('stores empty objects', async () => {
    const { driver } = await setup();
    await driver.put({
      key: 'empty',
      body: Readable.from([]),
      metadata: meta,
      overwrite: false,
      contentLength: 0,
    });
    const got = await driver.get({ key: 'empty' });
    if (got.notModified) throw new Error('unexpected 304');
    expect((await collect(got.body)).length).toBe(0);
    expect(got.info).toMatchObject({ size: 0, etag: md5(''), sha256: sha256('') });
  });

  it('keeps a declared SHA-256 that matches and refuses one that does not', async () => {
    const { driver, directory } = await setup();
    await driver.put({
      key: 'ok',
      body: text('abc'),
      metadata: { ...meta, sha256: sha256('abc').toUpperCase() },
      overwrite: false,
    });
    expect((await driver.head('ok')).sha256).toBe(sha256('abc'));
    await expect(
      driver.put({
        key: 'bad',
        body: text('abc'),
        metadata: { ...meta, sha256: sha256('abd') },
        overwrite: false,
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(driver.head('bad')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await filesUnder(join(directory, '.tmp'))).toEqual([]);
  });

  it('refuses a body whose length differs from contentLength, storing nothing', async () => {
    const { driver, directory } = await setup();
    for (const contentLength of [2, 4]) {
      await expect(
        driver.put({ key: 'len', body: text('abc'), metadata: meta, overwrite: false, contentLength }),
      ).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    }
    await expect(driver.head('len')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await filesUnder(directory)).toEqual([]);
  });

  it('lets "a" and "a/b" exist side by side, as S3 does', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'a', body: text('file a'), metadata: meta, overwrite: false });
    await driver.put({ key: 'a/b', body: text('file a/b'), metadata: meta, overwrite: false });
    expect((await driver.head('a')).size).toBe(6);
    expect((await driver.head('a/b')).size).toBe(8);
  });

  it('answers OBJECT_NOT_FOUND for a missing key', async () => {
    const { driver } = await setup();
    await expect(driver.head('missing')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND', status: 404 });
    await expect(driver.get({ key: 'no/such/key' })).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
  });
});

describe('create-only and overwrite', () => {
  it('refuses to replace an existing key unless overwrite is on', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'k', body: text('first'), metadata: meta, overwrite: false });
    await expect(
      driver.put({ key: 'k', body: text('second'), metadata: meta, overwrite: false }),
    ).rejects.toMatchObject({
      code: 'OBJECT_EXISTS',
      status: 409,
    });
    expect((await driver.head('k')).etag).toBe(md5('first'));

    const replaced = await driver.put({
      key: 'k',
      body: text('third!'),
      metadata: { contentType: 'text/markdown' },
      overwrite: true,
    });
    expect(replaced.etag).toBe(md5('third!'));
    expect(await driver.head('k')).toMatchObject({
      size: 6,
      etag: md5('third!'),
      contentType: 'text/markdown',
      sha256: sha256('third!'),
    });
  });

  it('lets exactly one of 20 concurrent create-only writers win, and keeps the winner’s bytes', async () => {
    const { driver, directory } = await setup();
    const bodies = Array.from({ length: 20 }, (_, index) => `writer ${index} `.repeat(1000 + index));
    const results = await Promise.allSettled(
      bodies.map((body, index) =>
        driver.put({
          key: 'race/target',
          body: text(body),
          metadata: { ...meta, originalName: `w${index}` },
          overwrite: false,
        }),
      ),
    );
    const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
    const losers = results.filter((result) => result.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) expect(loser.reason).toMatchObject({ code: 'OBJECT_EXISTS' });

    const winner = winners[0] as number;
    const got = await driver.get({ key: 'race/target' });
    if (got.notModified) throw new Error('unexpected 304');
    expect((await collect(got.body)).toString()).toBe(bodies[winner]);
    expect(got.info).toMatchObject({ originalName: `w${winner}`, etag: md5(bodies[winner] as string) });
    expect(await readdir(join(directory, '.tmp'))).toEqual([]);
  });

  it('with overwrite on, lets every concurrent writer succeed and keeps one whole version', async () => {
    const { driver, directory } = await setup();
    const bodies = Array.from({ length: 20 }, (_, index) => `v${index};`.repeat(500 * (index + 1)));
    await Promise.all(
      bodies.map((body) =>
        driver.put({ key: 'last-wins', body: text(body), metadata: meta, overwrite: true }),
      ),
    );
    const got = await driver.get({ key: 'last-wins' });
    if (got.notModified) throw new Error('unexpected 304');
    const content = (await collect(got.body)).toString();
    expect(bodies).toContain(content);
    expect(got.info).toMatchObject({ size: content.length, etag: md5(content), sha256: sha256(content) });
    expect(await readdir(join(directory, '.tmp'))).toEqual([]);
  });

  it('never lets a reader see one version’s metadata with another’s bytes', async () => {
    const { driver } = await setup();
    const versions = ['small', 'a much longer second version '.repeat(2000), 'mid-size '.repeat(50)];
    await driver.put({ key: 'hot', body: text(versions[0] as string), metadata: meta, overwrite: true });
    let writing = true;
    const writer = (async () => {
      for (let round = 0; round < 60; round++)
        await driver.put({
          key: 'hot',
          body: text(versions[round % 3] as string),
          metadata: meta,
          overwrite: true,
        });
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = await driver.get({ key: 'hot' });
      if (got.notModified) throw new Error('unexpected 304');
      const content = await collect(got.body);
      expect(md5(content)).toBe(got.info.etag);
      expect(content.length).toBe(got.info.size);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });
});

describe('failed writes leave nothing behind', () => {
  it('rejects with the body’s own error, with no object and no temp file', async () => {
    const { driver, directory } = await setup();
    const error = new Error('client went away');
    await expect(
      driver.put({
        key: 'partial/upload',
        body: failingBody(256 * 1024, error),
        metadata: meta,
        overwrite: false,
      }),
    ).rejects.toBe(error);
    await expect(driver.head('partial/upload')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await filesUnder(directory)).toEqual([]);
  });

  it('keeps the previous version when a replacing write fails', async () => {
    const { driver, directory } = await setup();
    await driver.put({ key: 'keep', body: text('original'), metadata: meta, overwrite: false });
    const error = new Error('limit reached');
    await expect(
      driver.put({ key: 'keep', body: failingBody(1000, error), metadata: meta, overwrite: true }),
    ).rejects.toBe(error);
    const got = await driver.get({ key: 'keep' });
    if (got.notModified) throw new Error('unexpected 304');
    expect((await collect(got.body)).toString()).toBe('original');
    expect(await readdir(join(directory, '.tmp'))).toEqual([]);
  });

  it('treats a body destroyed without an error as failed (premature close)', async () => {
    const { driver, directory } = await setup();
    const body = new PassThrough();
    const put = driver.put({ key: 'cut', body, metadata: meta, overwrite: false });
    body.write(Buffer.alloc(1000));
    setTimeout(() => body.destroy(), 5);
    await expect(put).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(await filesUnder(directory)).toEqual([]);
  });

  it('honours the abort signal: destroys the body, cleans up, rejects with the reason', async () => {
    const { driver, directory } = await setup();
    const body = new PassThrough();
    const controller = new AbortController();
    const put = driver.put({
      key: 'aborted',
      body,
      metadata: meta,
      overwrite: false,
      signal: controller.signal,
    });
    body.write(Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reason = new Error('request closed');
    controller.abort(reason);
    await expect(put).rejects.toBe(reason);
    expect(body.destroyed).toBe(true);
    expect(await filesUnder(directory)).toEqual([]);
  });

  it('does not start a write whose signal is already aborted', async () => {
    const { driver, directory } = await setup();
    const body = text('never');
    await expect(
      driver.put({ key: 'x', body, metadata: meta, overwrite: false, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(body.destroyed).toBe(true);
    expect(await filesUnder(directory)).toEqual([]);
  });

  it('survives a crash mid-upload: nothing visible, and the orphan temp file is swept later', async () => {
    const { directory } = await setup();
    // A real process killed with SIGKILL halfway through a put: no finally blocks, no cleanup.
    const script = `
      import { PassThrough } from 'node:stream';
      import { createLocalDriver } from ${JSON.stringify(new URL('../../src/storage/drivers/local/driver.ts', import.meta.url).href)};
      import { createLinkSigner } from ${JSON.stringify(new URL('../../src/storage/drivers/local/signed-links.ts', import.meta.url).href)};
      const driver = createLocalDriver({ name: 'media', profile: {}, directory: ${JSON.stringify(directory)}, links: createLinkSigner(), baseUrl: '' });
      const body = new PassThrough();
      driver.put({ key: 'crash/victim', body, metadata: { contentType: 'text/plain' }, overwrite: true });
      body.write(Buffer.alloc(1 << 20, 1), () => setTimeout(() => process.stdout.write('written'), 50));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const temps = await readdir(join(directory, '.tmp'));
    expect(temps).toHaveLength(1);
    expect((await stat(join(directory, '.tmp', temps[0] as string))).size).toBe(1 << 20); // it was mid-upload
    const driver = createLocalDriver({
      name: 'media',
      profile: localProfile(),
      directory,
      links: signer,
      baseUrl: '',
    });
    await expect(driver.head('crash/victim')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect((await driver.list({ prefix: '', limit: 10 })).objects).toEqual([]);
    await driver.close();
    expect(await readdir(join(directory, '.tmp'))).toEqual(temps); // too young to be called stale

    const longAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(join(directory, '.tmp', temps[0] as string), longAgo, longAgo);
    await createLocalDriver({
      name: 'media',
      profile: localProfile(),
      directory,
      links: signer,
      baseUrl: '',
    }).close();
    expect(await readdir(join(directory, '.tmp'))).toEqual([]);
  });

  it('leaves the caller’s body alone on its own failures (so the HTTP layer can still answer)', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'taken', body: text('1'), metadata: meta, overwrite: false });
    const body = new PassThrough();
    const put = driver.put({ key: 'taken', body, metadata: meta, overwrite: false, contentLength: 1 });
    body.end('2');
    await expect(put).rejects.toMatchObject({ code: 'OBJECT_EXISTS' });
    const long = new PassThrough();
    const tooLong = driver.put({
      key: 'long',
      body: long,
      metadata: meta,
      overwrite: false,
      contentLength: 1,
    });
    long.write('too long');
    await expect(tooLong).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(long.destroyed).toBe(false);
    long.destroy();
  });
});

describe('ranges and conditional reads', () => {
  const data = Buffer.from('0123456789abcdefghij');

  it('returns inclusive byte ranges with the total, clamping the end', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'r', body: Readable.from([data]), metadata: meta, overwrite: false });
    for (const [start, end, expected, expectedEnd] of [
      [0, 0, '0', 0],
      [10, 14, 'abcde', 14],
      [15, 999, 'fghij', 19],
      [19, 19, 'j', 19],
    ] as const) {
      const got = await driver.get({ key: 'r', range: { start, end } });
      if (got.notModified) throw new Error('unexpected 304');
      expect((await collect(got.body)).toString()).toBe(expected);
      expect(got.range).toEqual({ start, end: expectedEnd, total: 20 });
      expect(got.info.size).toBe(20);
    }
  });

  it('refuses a range starting at or past the end with 416 and Content-Range', async () => {
    const { driver } = await setup();
    await driver.put({ key: 'r', body: Readable.from([data]), metadata: meta, overwrite: false });
    await driver.put({ key: 'empty', body: Readable.from([]), metadata: meta, overwrite: false });
    await expect(driver.get({ key: 'r', range: { start: 20, end: 25 } })).rejects.toMatchObject({
      code: 'RANGE_NOT_SATISFIABLE',
      status: 416,
      headers: { 'Content-Range': 'bytes */20' },
    });
    await expect(driver.get({ key: 'empty', range: { start: 0, end: 0 } })).rejects.toMatchObject({
      code: 'RANGE_NOT_SATISFIABLE',
    });
  });

  it('answers notModified with the ETag when If-None-Match matches', async () => {
    const { driver } = await setup();
    const { etag } = await driver.put({
      key: 'c',
      body: Readable.from([data]),
      metadata: meta,
      overwrite: false,
    });
    for (const ifNoneMatch of [etag, `W/${etag}`, '*', `"other", ${etag}`])
      expect(await driver.get({ key: 'c', ifNoneMatch })).toEqual({ notModified: true, info: { etag } });
    // A 304 takes precedence over the range.
    expect(await driver.get({ key: 'c', ifNoneMatch: etag, range: { start: 50, end: 60 } })).toMatchObject({
      notModified: true,
    });
    const fresh = await driver.get({ key: 'c', ifNoneMatch: '"stale"' });
    if (fresh.notModified) throw new Error('unexpected 304');
    expect((await collect(fresh.body)).equals(data)).toBe(true);
  });

  it('stops a read when its signal aborts', async () => {
    const { driver } = await setup();
    await driver.put({
      key: 'big',
      body: Readable.from([Buffer.alloc(4 * 2 ** 20)]),
      metadata: meta,
      overwrite: false,
    });
    const controller = new AbortController();
    const got = await driver.get({ key: 'big', signal: controller.signal });
    if (got.notModified) throw new Error('unexpected 304');
    controller.abort();
    await expect(collect(got.body)).rejects.toMatchObject({ name: 'AbortError' });
    await expect(driver.get({ key: 'big', signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('delete', () => {
  it('is idempotent and prunes directories it leaves empty', async () => {
    const { driver, directory } = await setup();
    await driver.put({ key: 'a/b/c/one', body: text('1'), metadata: meta, overwrite: false });
    await driver.put({ key: 'a/two', body: text('2'), metadata: meta, overwrite: false });
    await driver.delete('a/b/c/one');
    await driver.delete('a/b/c/one');
    await driver.delete('never/existed');
    await expect(driver.head('a/b/c/one')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await readdir(join(directory, 'objects', 'a'))).toEqual(['two%']);
    await driver.delete('a/two');
    expect(await readdir(join(directory, 'objects'))).toEqual([]);
  });

  it('races safely with writes into the directories it prunes', async () => {
    const { driver } = await setup();
    const keys = Array.from({ length: 30 }, (_, index) => `deep/dir/${index}`);
    await Promise.all(
      keys.map(async (key) => {
        await driver.put({ key, body: text(key), metadata: meta, overwrite: false });
        await driver.delete(key);
        await driver.put({ key, body: text(key), metadata: meta, overwrite: false });
      }),
    );
    expect((await driver.list({ prefix: 'deep/', limit: 100 })).objects).toHaveLength(30);
  });
});

describe('readiness, startup and close', () => {
  it('check() creates a missing directory and proves it writable', async () => {
    const { driver, directory } = await setup({}, 'not/yet/there');
    await driver.check();
    expect((await stat(join(directory, 'objects'))).isDirectory()).toBe(true);
    expect(await readdir(join(directory, '.tmp'))).toEqual([]);
  });

  it('check() fails with STORAGE_UNAVAILABLE when the directory cannot be used', async () => {
    const { driver, directory } = await setup();
    await writeFile(directory, 'a file where the directory should be');
    await expect(driver.check()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
  });

  it('sweeps temp files a crash left behind, and only old ones', async () => {
    const sandbox = await mkdtemp(join(tmpdir(), 'stowage-local-'));
    onTestFinished(() => rm(sandbox, { recursive: true, force: true }));
    await mkdir(join(sandbox, '.tmp'));
    await writeFile(join(sandbox, '.tmp', 'crashed.part'), 'half an upload');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(join(sandbox, '.tmp', 'crashed.part'), twoHoursAgo, twoHoursAgo);
    await writeFile(join(sandbox, '.tmp', 'in-flight.part'), 'another process is writing this');
    const driver = createLocalDriver({
      name: 'm',
      profile: localProfile(),
      directory: sandbox,
      links: signer,
      baseUrl: '',
    });
    await driver.close();
    expect(await readdir(join(sandbox, '.tmp'))).toEqual(['in-flight.part']);
  });
});

describe('URLs', () => {
  it('presignGet returns a signed link to this service that the signer verifies', async () => {
    const { driver } = await setup();
    const before = Math.floor(Date.now() / 1000);
    const { url, expiresAt } = await driver.presignGet({
      key: 'docs/a b.pdf',
      expiresInSeconds: 900,
      contentDisposition: 'attachment',
    });
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://stowage.test/v1/links/media/docs/a%20b.pdf');
    expect(Number(parsed.searchParams.get('expires'))).toBe(expiresAt.getTime() / 1000);
    expect(expiresAt.getTime() / 1000 - before).toBeGreaterThanOrEqual(900);
    expect(expiresAt.getTime() / 1000 - before).toBeLessThanOrEqual(901);
    const link = readLinkQuery('media', 'docs/a b.pdf', parsed.searchParams);
    expect(link?.disposition).toBe('attachment');
    expect(link && signer.verify(link)).toBe(true);
    expect(link && signer.verify({ ...link, key: 'docs/other.pdf' })).toBe(false);
  });

  it('publicUrl points at the public route, or at the profile’s publicBaseUrl', async () => {
    const { driver } = await setup();
    expect(driver.publicUrl('img/ü 1.png')).toBe('https://stowage.test/v1/public/media/img/%C3%BC%201.png');
    const { driver: cdn } = await setup({ publicBaseUrl: 'https://cdn.example.com/media/' });
    expect(cdn.publicUrl('img/a.png')).toBe('https://cdn.example.com/media/img/a.png');
  });

  it('refuse invalid keys', async () => {
    const { driver } = await setup();
    expect(() => driver.publicUrl('../x')).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    await expect(driver.presignGet({ key: 'a//b', expiresInSeconds: 60 })).rejects.toMatchObject({
      code: 'INVALID_KEY',
    });
  });

  it('reports its kind', async () => {
    expect((await setup()).driver.kind).toBe('local');
  });
});

it('stores object files as body + trailer under objects/, with the % leaf mark', async () => {
  const { driver, directory } = await setup();
  await driver.put({ key: 'x/y.txt', body: text('hello'), metadata: meta, overwrite: false });
  const raw = await readFile(join(directory, 'objects', 'x', 'y.txt%'));
  expect(raw.subarray(0, 5).toString()).toBe('hello');
  expect(raw.subarray(-8).toString()).toBe('STOWAGE1');
});
