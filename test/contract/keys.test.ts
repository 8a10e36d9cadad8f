import { describe, expect, it } from 'vitest';
import { errorOf, stowageApi } from '../support/api.ts';
import { text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * The key space as S3 has it, on every driver: any key beside any other (`a` and `a/b` both), listing
 * in UTF-8 byte order with a prefix that is a plain string, paging with an opaque cursor.
 */

/** In S3 order: by UTF-8 bytes ("-" < "." < "/" < "0"; "｡" U+FF61 before "😀", unlike UTF-16). */
const KEYS = [
  'keys/Z',
  'keys/dir',
  'keys/dir-a',
  'keys/dir.a',
  'keys/dir/x',
  'keys/dir/x/y',
  'keys/dir0',
  'keys/space +#?&=%25%',
  'keys/été/€',
  'keys/｡',
  'keys/😀',
];

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(forDriver(driver, { files: { prefix: 'hidden-prefix/' } }));
    const api = stowageApi(stowage);

    async function listAll(query: Record<string, string>) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const { status, json } = await api.list('files', { ...query, ...(cursor && { cursor }) });
        expect(status).toBe(200);
        seen.push(...json.objects.map((object) => object.key));
        cursor = json.nextCursor;
        pages += 1;
      } while (cursor);
      return { keys: seen, pages };
    }

    it('lists by prefix, in pages, with an opaque cursor; keys are relative to the storage', async () => {
      const keys = Array.from({ length: 7 }, (_, index) => `list/item-${index}.txt`);
      for (const key of keys) expect((await api.put('files', key, text(key))).status).toBe(201);
      expect((await api.put('files', 'other/x.txt', text('x'))).status).toBe(201);
      const { status, json } = await api.list('files', { prefix: 'list/', limit: '3' });
      expect(status).toBe(200);
      expect(json.objects).toHaveLength(3);
      for (const object of json.objects) {
        expect(object.size).toBe(Buffer.byteLength(object.key));
        expect(object.etag).toMatch(/^".+"$/);
        expect(new Date(object.lastModified).getTime()).not.toBeNaN();
      }
      expect(await listAll({ prefix: 'list/', limit: '3' })).toEqual({ keys, pages: 3 });
    });

    it('keeps keys that are prefixes of each other, and lists them in UTF-8 byte order', async () => {
      for (const key of KEYS) expect((await api.put('files', key, text(key))).status, key).toBe(201);
      for (const key of KEYS) expect(await (await api.object('files', key)).text(), key).toBe(key);
      expect((await listAll({ prefix: 'keys/', limit: '2' })).keys).toEqual(KEYS);
      expect((await listAll({ prefix: 'keys/dir' })).keys).toEqual(KEYS.slice(1, 7));
      expect((await listAll({ prefix: 'keys/dir/' })).keys).toEqual(['keys/dir/x', 'keys/dir/x/y']);
      expect((await listAll({ prefix: 'keys/nothing/here/' })).keys).toEqual([]);
      expect(await stowage.backend('files').keys('hidden-prefix/keys/')).toEqual(
        KEYS.map((key) => `hidden-prefix/${key}`),
      );
    });

    it('deleting a key leaves the keys below it alone, and the other way round', async () => {
      expect((await api.object('files', 'keys/dir', { method: 'DELETE' })).status).toBe(204);
      expect((await api.object('files', 'keys/dir/x/y', { method: 'DELETE' })).status).toBe(204);
      expect((await api.object('files', 'keys/dir')).status).toBe(404);
      expect((await api.object('files', 'keys/dir/x')).status).toBe(200);
      expect((await listAll({ prefix: 'keys/dir' })).keys).toEqual([
        'keys/dir-a',
        'keys/dir.a',
        'keys/dir/x',
        'keys/dir0',
      ]);
    });

    it('400 for bad list parameters', async () => {
      for (const query of [
        'limit=0',
        'limit=1001',
        'limit=abc',
        'prefix=..%2F',
        'cursor=not-a-cursor',
        `cursor=${Buffer.from('{"p":"p/other/","t":"x"}').toString('base64url')}`,
      ]) {
        const response = await fetch(`${stowage.url}/v1/storages/files/objects?${query}`);
        expect(response.status, query).toBe(400);
      }
    });

    it('a key that fits alone but not behind the storage prefix is refused alike (400 INVALID_KEY)', async () => {
      const prefix = stowage.config.storages.files!.prefix;
      const key = 'k'.repeat(1024 - prefix.length + 1);
      const response = await api.put('files', key, text('x'));
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('INVALID_KEY');
    });

    it('errors never reveal where the storage keeps its objects (prefix, bucket, directory)', async () => {
      const profile = stowage.config.storages.files!;
      const place = profile.driver === 's3' ? profile.bucket : profile.directory!;
      expect((await api.put('files', 'exists.txt', text('x'))).status).toBe(201);
      const errors = [
        (await api.put('files', 'exists.txt', text('y'))).json.error,
        await errorOf(await api.object('files', 'missing.txt')),
        await errorOf(await api.object('files', 'exists.txt', { headers: { range: 'bytes=50-' } })),
        (await api.urlFor('files', { key: 'missing.txt' })).json.error,
      ];
      expect(errors.map((error) => error?.code)).toEqual([
        'OBJECT_EXISTS',
        'OBJECT_NOT_FOUND',
        'RANGE_NOT_SATISFIABLE',
        'OBJECT_NOT_FOUND',
      ]);
      for (const error of errors) {
        expect(JSON.stringify(error)).not.toContain('hidden-prefix');
        expect(JSON.stringify(error)).not.toContain(place);
      }
    });
  });
