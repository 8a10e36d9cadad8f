import { describe, expect, it } from 'vitest';
import { bytesOf, errorCodeOf, stowageApi } from '../support/api.ts';
import { pdf, text } from '../support/payloads.ts';
import { jsonOf, rawRequest } from '../support/raw-http.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/** Reads: ranges, conditional requests, HEAD, delete — identical headers and statuses on every driver. */
for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        files: { prefix: 'p/', contentDisposition: 'inline', cacheControl: 'public, max-age=60' },
      }),
    );
    const api = stowageApi(stowage);
    const data = pdf(10_000);

    async function put(key: string, body: Buffer, type = 'application/pdf') {
      const { status, json } = await api.put('files', key, body, { 'content-type': type });
      expect(status).toBe(201);
      return json;
    }
    const get = (key: string, headers: Record<string, string> = {}) => api.object('files', key, { headers });
    const head = (key: string, headers: Record<string, string> = {}) =>
      api.object('files', key, { method: 'HEAD', headers });

    it('Range ⇒ 206 with the exact bytes; suffix ranges; multiple ranges ⇒ the whole object', async () => {
      const { etag } = await put('ranged.pdf', data);
      const first = await get('ranged.pdf', { range: 'bytes=100-199' });
      expect(first.status).toBe(206);
      expect(first.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
      expect(first.headers.get('content-length')).toBe('100');
      expect((await bytesOf(first)).equals(data.subarray(100, 200))).toBe(true);

      const suffix = await get('ranged.pdf', { range: 'bytes=-10' });
      expect(suffix.status).toBe(206);
      expect((await bytesOf(suffix)).equals(data.subarray(-10))).toBe(true);

      const open = await get('ranged.pdf', { range: 'bytes=9990-' });
      expect((await bytesOf(open)).equals(data.subarray(9990))).toBe(true);

      const beyond = await get('ranged.pdf', { range: 'bytes=9995-20000' });
      expect(beyond.headers.get('content-range')).toBe(`bytes 9995-9999/${data.length}`);
      expect((await bytesOf(beyond)).equals(data.subarray(9995))).toBe(true);

      const multi = await get('ranged.pdf', { range: 'bytes=0-1,5-6' });
      expect(multi.status).toBe(200);
      expect((await bytesOf(multi)).equals(data)).toBe(true);

      const stale = await get('ranged.pdf', { range: 'bytes=0-9', 'if-range': '"not-the-etag"' });
      expect(stale.status).toBe(200);
      await stale.arrayBuffer();
      const fresh = await get('ranged.pdf', { range: 'bytes=0-9', 'if-range': etag });
      expect(fresh.status).toBe(206);
      await fresh.arrayBuffer();
    });

    it('416 for a range past the end (with the size), 400 for a malformed range', async () => {
      await put('short.pdf', pdf(100));
      const past = await get('short.pdf', { range: 'bytes=500-600' });
      expect(past.status).toBe(416);
      expect(past.headers.get('content-range')).toBe('bytes */100');
      expect(await errorCodeOf(past)).toBe('RANGE_NOT_SATISFIABLE');
      const malformed = await get('short.pdf', { range: 'bytes=9-1' });
      expect(malformed.status).toBe(400);
      expect(await errorCodeOf(malformed)).toBe('INVALID_RANGE');
    });

    it('ETag + If-None-Match ⇒ 304 on GET and HEAD, for the tag, its weak form, a list holding it, and *', async () => {
      const { etag } = await put('cached.pdf', data);
      for (const tags of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const notModified = await get('cached.pdf', { 'if-none-match': tags });
        expect(notModified.status, tags).toBe(304);
        expect(notModified.headers.get('etag'), tags).toBe(etag);
        expect((await head('cached.pdf', { 'if-none-match': tags })).status, tags).toBe(304);
      }
      const changed = await get('cached.pdf', { 'if-none-match': '"something-else"' });
      expect(changed.status).toBe(200);
      expect((await bytesOf(changed)).equals(data)).toBe(true);
      const ranged = await get('cached.pdf', { 'if-none-match': etag, range: 'bytes=0-9' });
      expect(ranged.status).toBe(304);
    });

    it('a 304 carries the validator and Cache-Control, no body headers; an unquoted tag is no match', async () => {
      const { etag } = await put('validator.pdf', data);
      const notModified = await get('validator.pdf', { 'if-none-match': etag });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('cache-control')).toBe('public, max-age=60');
      const headNotModified = await head('validator.pdf', { 'if-none-match': etag });
      expect(headNotModified.status).toBe(304);
      expect(headNotModified.headers.get('cache-control')).toBe('public, max-age=60');
      expect(notModified.headers.get('content-type')).toBeNull();
      expect(notModified.headers.get('content-length')).toBeNull();
      // RFC 9110 entity tags are quoted; S3 servers differ on bare ones, Stowage treats them alike.
      const bare = await get('validator.pdf', { 'if-none-match': etag.replaceAll('"', '') });
      expect(bare.status).toBe(200);
      await bare.arrayBuffer();
      const deleted = await api.object('files', 'validator.pdf', { method: 'DELETE' });
      expect(deleted.status).toBe(204);
      expect(deleted.headers.get('content-type')).toBeNull();
    });

    it('HEAD carries the object headers without a body', async () => {
      const { etag } = await put('head.pdf', data);
      const response = await head('head.pdf');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(data.length));
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('etag')).toBe(etag);
      expect(response.headers.get('content-disposition')).toBe('inline; filename=head.pdf');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(new Date(response.headers.get('last-modified')!).getTime()).toBeGreaterThan(
        Date.now() - 600_000,
      );
      expect(await response.text()).toBe('');
    });

    it('an empty object reads as empty: 200, length 0, and a Range is answered with the whole (nothing)', async () => {
      await put('empty.bin', Buffer.alloc(0), 'application/octet-stream');
      const whole = await get('empty.bin');
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-length')).toBe('0');
      expect((await bytesOf(whole)).length).toBe(0);
      expect((await head('empty.bin')).headers.get('content-length')).toBe('0');
      const ranged = await get('empty.bin', { range: 'bytes=0-' });
      expect(ranged.status).toBe(200);
      expect((await bytesOf(ranged)).length).toBe(0);
    });

    it('DELETE is 204 and idempotent; the object is gone afterwards, from the backend too', async () => {
      await put('gone.txt', text('bye'), 'text/plain');
      expect(await stowage.backend('files').keys('p/gone')).toEqual(['p/gone.txt']);
      expect((await api.object('files', 'gone.txt', { method: 'DELETE' })).status).toBe(204);
      expect((await api.object('files', 'gone.txt', { method: 'DELETE' })).status).toBe(204);
      const after = await get('gone.txt');
      expect(after.status).toBe(404);
      expect(await errorCodeOf(after)).toBe('OBJECT_NOT_FOUND');
      expect((await head('gone.txt')).status).toBe(404);
      expect(await stowage.backend('files').keys('p/gone')).toEqual([]);
    });

    it('404 for an unknown storage and an unknown object; 400 for a bad key on GET', async () => {
      const unknownStorage = await api.object('nope', 'x');
      expect(unknownStorage.status).toBe(404);
      expect(await errorCodeOf(unknownStorage)).toBe('STORAGE_NOT_FOUND');
      expect((await get('does/not/exist')).status).toBe(404);
      const traversal = await rawRequest(stowage.url, {
        method: 'GET',
        path: '/v1/storages/files/objects/a/../../etc/passwd',
      });
      expect(traversal.status).toBe(400);
      expect(jsonOf(traversal.body).error?.code).toBe('INVALID_KEY');
    });
  });
