import { describe, expect, it } from 'vitest';
import { pdf, text } from '../support/payloads.ts';
import { jsonOf, rawRequest } from '../support/raw-http.ts';
import { useStowage } from '../support/stowage.ts';

const stowage = useStowage({
  buckets: ['files'],
  storages: (buckets) => ({
    files: { driver: 's3', bucket: buckets.files ?? '', prefix: 'p/', contentDisposition: 'inline' },
  }),
});

const data = pdf(10_000);

async function put(key: string, body: Buffer, type = 'application/pdf') {
  const response = await fetch(`${stowage.url}/v1/storages/files/objects/${key}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': type },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { etag: string };
}

const get = (key: string, headers: Record<string, string> = {}) =>
  fetch(`${stowage.url}/v1/storages/files/objects/${key}`, { headers });

describe('reading objects', () => {
  it('Range ⇒ 206 with the exact bytes; suffix ranges; multiple ranges ⇒ the whole object', async () => {
    const { etag } = await put('ranged.pdf', data);
    const first = await get('ranged.pdf', { range: 'bytes=100-199' });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
    expect(first.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await first.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const suffix = await get('ranged.pdf', { range: 'bytes=-10' });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(-10))).toBe(true);

    const open = await get('ranged.pdf', { range: 'bytes=9990-' });
    expect(Buffer.from(await open.arrayBuffer()).equals(data.subarray(9990))).toBe(true);

    const multi = await get('ranged.pdf', { range: 'bytes=0-1,5-6' });
    expect(multi.status).toBe(200);
    expect(Buffer.from(await multi.arrayBuffer()).equals(data)).toBe(true);

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
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
    const malformed = await get('short.pdf', { range: 'bytes=9-1' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('INVALID_RANGE');
  });

  it('ETag + If-None-Match ⇒ 304 on GET and HEAD', async () => {
    const { etag } = await put('cached.pdf', data);
    const notModified = await get('cached.pdf', { 'if-none-match': etag });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe(etag);
    const changed = await get('cached.pdf', { 'if-none-match': '"something-else"' });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
    const head = await fetch(`${stowage.url}/v1/storages/files/objects/cached.pdf`, {
      method: 'HEAD',
      headers: { 'if-none-match': etag },
    });
    expect(head.status).toBe(304);
  });

  it('HEAD carries the object headers without a body', async () => {
    await put('head.pdf', data);
    const head = await fetch(`${stowage.url}/v1/storages/files/objects/head.pdf`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.headers.get('content-type')).toBe('application/pdf');
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
  });

  it('DELETE is 204 and idempotent; the object is gone afterwards', async () => {
    await put('gone.txt', text('bye'), 'text/plain');
    const url = `${stowage.url}/v1/storages/files/objects/gone.txt`;
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(204);
    const after = await fetch(url);
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('OBJECT_NOT_FOUND');
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(404);
  });

  it('lists by prefix, in pages, with an opaque cursor; keys are relative to the storage', async () => {
    const keys = Array.from({ length: 7 }, (_, index) => `list/item-${index}.txt`);
    for (const key of keys) await put(key, text(key), 'text/plain');
    await put('other/x.txt', text('x'), 'text/plain');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ prefix: 'list/', limit: '3', ...(cursor && { cursor }) });
      const response = await fetch(`${stowage.url}/v1/storages/files/objects?${query}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as {
        objects: Array<{ key: string; size: number; etag: string; lastModified: string }>;
        nextCursor?: string;
      };
      expect(page.objects.length).toBeLessThanOrEqual(3);
      for (const object of page.objects) {
        expect(object.size).toBe(Buffer.byteLength(object.key));
        expect(new Date(object.lastModified).getTime()).not.toBeNaN();
      }
      seen.push(...page.objects.map((object) => object.key));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  it('400 for bad list parameters', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'prefix=..%2F']) {
      const response = await fetch(`${stowage.url}/v1/storages/files/objects?${query}`);
      expect(response.status, query).toBe(400);
    }
  });

  it('404 for an unknown storage and an unknown object; 400 for a bad key on GET', async () => {
    const unknownStorage = await fetch(`${stowage.url}/v1/storages/nope/objects/x`);
    expect(unknownStorage.status).toBe(404);
    expect(((await unknownStorage.json()) as { error: { code: string } }).error.code).toBe(
      'STORAGE_NOT_FOUND',
    );
    expect((await get('does/not/exist')).status).toBe(404);
    const traversal = await rawRequest(stowage.url, {
      method: 'GET',
      path: '/v1/storages/files/objects/a/../../etc/passwd',
    });
    expect(traversal.status).toBe(400);
    expect(jsonOf(traversal.body).error?.code).toBe('INVALID_KEY');
  });
});
