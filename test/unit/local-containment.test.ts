import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { createLocalDriver } from '../../src/storage/drivers/local/driver.ts';
import { createLinkSigner } from '../../src/storage/drivers/local/signed-links.ts';

/**
 * The storage directory is `<sandbox>/store`; `<sandbox>/outside` stands for the rest of the disk.
 * Whatever a key says, nothing outside `store` may be read, written or removed.
 */
async function setup() {
  const sandbox = await mkdtemp(join(tmpdir(), 'stowage-local-jail-'));
  onTestFinished(() => rm(sandbox, { recursive: true, force: true }));
  const outside = join(sandbox, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret%'), 'outside secret');
  await writeFile(join(outside, 'secret'), 'outside secret');
  const profile = configSchema.parse({ storages: { media: { driver: 'local' } } }).storages.media;
  if (profile?.driver !== 'local') throw new Error('unreachable');
  const directory = join(sandbox, 'store');
  const driver = createLocalDriver({
    name: 'media',
    profile,
    directory,
    links: createLinkSigner(),
    baseUrl: '',
  });
  onTestFinished(() => driver.close());
  await driver.check();
  const outsideUntouched = async () => {
    expect((await readdir(sandbox)).sort()).toEqual(['outside', 'store']);
    expect((await readdir(outside)).sort()).toEqual(['secret', 'secret%']);
    expect(await readFile(join(outside, 'secret%'), 'utf8')).toBe('outside secret');
  };
  return { driver, directory, objects: join(directory, 'objects'), outside, outsideUntouched };
}

const body = (value = 'payload') => Readable.from([Buffer.from(value)]);
const meta = { contentType: 'text/plain' };
const invalid = { code: 'INVALID_KEY', status: 400 };

const traversal = [
  '../outside/secret',
  '../../outside/secret',
  'a/../../outside/secret',
  '/etc/passwd',
  `/${'../'.repeat(10)}etc/passwd`,
  '..\\outside\\secret',
  './secret',
  'a//secret',
  'secret\u0000.png',
  'line\nbreak',
  '\u001b[31m',
  'x'.repeat(1025),
  'a\uDC00',
];

describe('keys that try to leave the storage directory', () => {
  it.each(traversal)('%j is refused by every operation', async (key) => {
    const { driver, outsideUntouched } = await setup();
    await expect(driver.put({ key, body: body(), metadata: meta, overwrite: true })).rejects.toMatchObject(
      invalid,
    );
    await expect(driver.get({ key })).rejects.toMatchObject(invalid);
    await expect(driver.head(key)).rejects.toMatchObject(invalid);
    await expect(driver.delete(key)).rejects.toMatchObject(invalid);
    await expect(driver.presignGet({ key, expiresInSeconds: 60 })).rejects.toMatchObject(invalid);
    await outsideUntouched();
  });

  it.each(['%2e%2e/outside/secret', '%2e%2e%2foutside%2fsecret', '..%2Foutside', '%252e%252e', 'a%00b'])(
    'percent-encoded %j is a plain name inside the directory, never decoded again',
    async (key) => {
      const { driver, objects, outsideUntouched } = await setup();
      await driver.put({ key, body: body(key), metadata: meta, overwrite: false });
      const got = await driver.get({ key });
      if (got.notModified) throw new Error('unexpected 304');
      got.body.destroy();
      expect(got.info.key).toBe(key);
      expect((await driver.list({ prefix: '', limit: 10 })).objects.map((object) => object.key)).toEqual([
        key,
      ]);
      expect((await readdir(objects, { recursive: true })).length).toBeGreaterThan(0);
      await driver.delete(key);
      expect(await readdir(objects)).toEqual([]);
      await outsideUntouched();
    },
  );
});

describe('symbolic links inside the storage directory', () => {
  it('are never followed as directories: reads, writes, deletes and lists through them are refused', async () => {
    const { driver, objects, outside, outsideUntouched } = await setup();
    await symlink(outside, join(objects, 'escape'));
    await expect(
      driver.put({ key: 'escape/new', body: body(), metadata: meta, overwrite: false }),
    ).rejects.toMatchObject(invalid);
    await expect(
      driver.put({ key: 'escape/deeper/new', body: body(), metadata: meta, overwrite: true }),
    ).rejects.toMatchObject(invalid);
    await expect(driver.get({ key: 'escape/secret' })).rejects.toMatchObject(invalid);
    await expect(driver.head('escape/secret')).rejects.toMatchObject(invalid);
    await expect(driver.delete('escape/secret')).rejects.toMatchObject(invalid);
    expect((await driver.list({ prefix: '', limit: 100 })).objects).toEqual([]);
    expect((await driver.list({ prefix: 'escape/', limit: 100 })).objects).toEqual([]);
    await outsideUntouched();
  });

  it('are refused deeper in the tree too', async () => {
    const { driver, objects, outside, outsideUntouched } = await setup();
    await driver.put({ key: 'a/b/legit', body: body(), metadata: meta, overwrite: false });
    await symlink(outside, join(objects, 'a', 'b', 'c'));
    await expect(
      driver.put({ key: 'a/b/c/new', body: body(), metadata: meta, overwrite: false }),
    ).rejects.toMatchObject(invalid);
    await expect(driver.head('a/b/c/secret')).rejects.toMatchObject(invalid);
    expect((await driver.list({ prefix: 'a/', limit: 100 })).objects.map((object) => object.key)).toEqual([
      'a/b/legit',
    ]);
    await outsideUntouched();
  });

  it('are never followed as object files: reads refuse, writes replace the link, deletes remove only it', async () => {
    const { driver, objects, outside, outsideUntouched } = await setup();
    await symlink(join(outside, 'secret%'), join(objects, 'leak%'));
    await expect(driver.get({ key: 'leak' })).rejects.toMatchObject(invalid);
    await expect(driver.head('leak')).rejects.toMatchObject(invalid);
    expect((await driver.list({ prefix: '', limit: 100 })).objects).toEqual([]);
    // Create-only sees the name taken; it never writes through the link.
    await expect(
      driver.put({ key: 'leak', body: body('overwritten?'), metadata: meta, overwrite: false }),
    ).rejects.toMatchObject({
      code: 'OBJECT_EXISTS',
    });
    await outsideUntouched();
    await driver.delete('leak');
    await outsideUntouched();
    await symlink(join(outside, 'secret%'), join(objects, 'leak%'));
    // Replacing renames over the link itself: the target keeps its bytes.
    await driver.put({ key: 'leak', body: body('replaced'), metadata: meta, overwrite: true });
    await outsideUntouched();
    const got = await driver.get({ key: 'leak' });
    if (got.notModified) throw new Error('unexpected 304');
    got.body.destroy();
    expect(got.info.size).toBe('replaced'.length);
  });

  it('a storage directory that is itself a link (an operator’s choice) still works', async () => {
    const { outside } = await setup();
    const real = join(outside, '..', 'real-store');
    await mkdir(real);
    const linked = join(outside, '..', 'linked-store');
    await symlink(real, linked);
    const profile = configSchema.parse({ storages: { media: { driver: 'local' } } }).storages.media;
    if (profile?.driver !== 'local') throw new Error('unreachable');
    const driver = createLocalDriver({
      name: 'media',
      profile,
      directory: linked,
      links: createLinkSigner(),
      baseUrl: '',
    });
    await driver.put({ key: 'k', body: body(), metadata: meta, overwrite: false });
    expect((await driver.head('k')).size).toBe(7);
    expect(await readdir(join(real, 'objects'))).toEqual(['k%']);
    await driver.close();
  });
});

describe('files the driver did not write', () => {
  it('are ignored by list and head, and a damaged object is a STORAGE_ERROR, not a crash', async () => {
    const { driver, objects } = await setup();
    await writeFile(join(objects, 'stray.txt'), 'no leaf mark');
    await writeFile(join(objects, 'bad%2f%'), 'not an escaped name');
    await expect(driver.head('stray.txt')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect((await driver.list({ prefix: '', limit: 100 })).objects).toEqual([]);

    await writeFile(join(objects, 'damaged%'), 'bytes without a metadata trailer');
    await expect(driver.head('damaged')).rejects.toMatchObject({ code: 'STORAGE_ERROR', status: 502 });
    await expect(driver.get({ key: 'damaged' })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await expect(driver.list({ prefix: '', limit: 100 })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
