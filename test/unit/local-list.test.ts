import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import type { ListResult, StorageDriver } from '../../src/storage/driver.ts';
import { createLocalDriver } from '../../src/storage/drivers/local/driver.ts';
import { createLinkSigner } from '../../src/storage/drivers/local/signed-links.ts';

// Keys whose S3 order (UTF-8 bytes) differs from naive orders: "a" < "a-b" < "a.c" < "a/…" < "a0"
// puts directory contents between siblings, and U+FF71 sorts before U+1F600 in UTF-8 but after it
// in UTF-16 (JavaScript's default string order).
const keys = [
  'a',
  'a-b',
  'a.c',
  'a/b',
  'a/b/c',
  'a/b-c',
  'a/b0',
  'a0',
  'b%',
  'b%/x',
  'photos/2024/01.jpg',
  'photos/2024/02.jpg',
  'photos/2025/01.jpg',
  'photos-old/x.jpg',
  'z',
  'é',
  'ｱ',
  '😀',
];
const s3Order = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

let driver: StorageDriver;

beforeAll(async () => {
  const directory = await mkdtemp(join(tmpdir(), 'stowage-local-list-'));
  const profile = configSchema.parse({ storages: { media: { driver: 'local' } } }).storages.media;
  if (profile?.driver !== 'local') throw new Error('unreachable');
  const links = createLinkSigner();
  driver = createLocalDriver({ name: 'media', profile, directory, links, baseUrl: '' });
  // Written in reverse so that creation order cannot pass for sorting.
  for (const key of [...keys].reverse())
    await driver.put({
      key,
      body: Readable.from([Buffer.from(key)]),
      metadata: { contentType: 'text/plain' },
      overwrite: false,
    });
  return async () => {
    await driver.close();
    await rm(directory, { recursive: true, force: true });
  };
});

async function listAll(prefix: string, limit: number) {
  const pages: ListResult[] = [];
  let cursor: string | undefined;
  do {
    const page = await driver.list({ prefix, limit, ...(cursor === undefined ? {} : { cursor }) });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 100);
  return { pages, keys: pages.flatMap((page) => page.objects.map((object) => object.key)) };
}

describe('list', () => {
  it('returns every key in S3 (UTF-8 byte) order with size, etag and lastModified', async () => {
    const page = await driver.list({ prefix: '', limit: 1000 });
    expect(page.objects.map((object) => object.key)).toEqual(s3Order);
    expect(page.nextCursor).toBeUndefined();
    const first = page.objects[0];
    expect(first).toStrictEqual({
      key: 'a',
      size: 1,
      etag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
      lastModified: expect.any(Date),
    });
    expect(first?.etag).toBe((await driver.head('a')).etag);
  });

  it.each([1, 2, 3, 7, 17, 18])(
    'pages through everything with limit %i, nextCursor only while more remain',
    async (limit) => {
      const { pages, keys: listed } = await listAll('', limit);
      expect(listed).toEqual(s3Order);
      expect(pages).toHaveLength(Math.ceil(keys.length / limit));
      for (const page of pages.slice(0, -1)) expect(page.objects).toHaveLength(limit);
      expect(pages.at(-1)?.nextCursor).toBeUndefined();
    },
  );

  it.each([
    ['photos/', ['photos/2024/01.jpg', 'photos/2024/02.jpg', 'photos/2025/01.jpg']],
    ['photos', ['photos-old/x.jpg', 'photos/2024/01.jpg', 'photos/2024/02.jpg', 'photos/2025/01.jpg']],
    ['photos/2024/0', ['photos/2024/01.jpg', 'photos/2024/02.jpg']],
    ['a/b', ['a/b', 'a/b-c', 'a/b/c', 'a/b0']],
    ['a/', ['a/b', 'a/b-c', 'a/b/c', 'a/b0']],
    ['a', ['a', 'a-b', 'a.c', 'a/b', 'a/b-c', 'a/b/c', 'a/b0', 'a0']],
    ['b%', ['b%', 'b%/x']],
    ['%', []],
    ['nothing/', []],
    ['../', []],
    ['a//', []],
  ])('filters by the plain string prefix %j', async (prefix, expected) => {
    for (const limit of [1, 2, 1000]) expect((await listAll(prefix, limit)).keys).toEqual(expected);
  });

  it('continues after the cursor even when that key has since been deleted', async () => {
    const first = await driver.list({ prefix: 'photos/', limit: 1 });
    expect(first.objects.map((object) => object.key)).toEqual(['photos/2024/01.jpg']);
    await driver.delete('photos/2024/01.jpg');
    const rest = await driver.list({ prefix: 'photos/', limit: 10, cursor: first.nextCursor as string });
    expect(rest.objects.map((object) => object.key)).toEqual(['photos/2024/02.jpg', 'photos/2025/01.jpg']);
    await driver.put({
      key: 'photos/2024/01.jpg',
      body: Readable.from([Buffer.from('x')]),
      metadata: { contentType: 'text/plain' },
      overwrite: true,
    });
  });

  it('caps a page at 1000 like S3 and rejects malformed cursors', async () => {
    expect((await driver.list({ prefix: '', limit: 5000 })).objects).toHaveLength(keys.length);
    for (const cursor of ['', '!!!', 'YQ=', 'YQ==']) // not base64url, or not canonical
      await expect(driver.list({ prefix: '', limit: 10, cursor })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
  });
});
