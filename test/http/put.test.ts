import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { pdf, sha256, text } from '../support/payloads.ts';
import { jsonOf, rawRequest } from '../support/raw-http.ts';
import { listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { useStowage } from '../support/stowage.ts';

const stowage = useStowage({
  buckets: ['svc', 'replace'],
  storages: (buckets) => ({
    svc: {
      driver: 's3',
      bucket: buckets.svc ?? '',
      prefix: 'svc/',
      maxFileSize: '30MiB',
      partSize: '5MiB',
      queueSize: 2,
    },
    replace: { driver: 's3', bucket: buckets.replace ?? '', overwrite: true, maxFileSize: '1MiB' },
  }),
});

async function put(storage: string, key: string, body: Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects/${key}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  return {
    status: response.status,
    json: (await response.json()) as { key?: string; size?: number; etag?: string; error?: { code: string } },
  };
}

const directBody = async (bucket: string, key: string) => {
  const object = await stowage.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
};

describe('raw PUT under a caller-chosen key', () => {
  it('stores the body under the key (with the storage prefix in the bucket)', async () => {
    const data = text('a,b\n1,2\n');
    const result = await put('svc', 'reports/2026/q4.csv', data, {
      'content-type': 'text/csv',
      'content-disposition': "attachment; filename*=UTF-8''R%C3%A9sum%C3%A9.csv",
    });
    expect(result.status).toBe(201);
    expect(result.json).toMatchObject({
      key: 'reports/2026/q4.csv',
      size: data.length,
      contentType: 'text/csv',
      originalName: 'Résumé.csv',
    });
    expect((await directBody(stowage.buckets.svc!, 'svc/reports/2026/q4.csv')).equals(data)).toBe(true);
  });

  it('overwrite off: a second PUT to the key is 409 and the first object is unchanged', async () => {
    const first = text('first version');
    expect((await put('svc', 'once.txt', first, { 'content-type': 'text/plain' })).status).toBe(201);
    const second = await put('svc', 'once.txt', text('second version'), { 'content-type': 'text/plain' });
    expect(second.status).toBe(409);
    expect(second.json.error?.code).toBe('OBJECT_EXISTS');
    expect((await directBody(stowage.buckets.svc!, 'svc/once.txt')).equals(first)).toBe(true);
  });

  it('overwrite off holds for multipart-sized bodies too (the CI server ignores If-None-Match on completion)', async () => {
    const first = pdf(12 * 2 ** 20);
    expect((await put('svc', 'big/once.pdf', first)).status).toBe(201);
    const second = await put('svc', 'big/once.pdf', pdf(12 * 2 ** 20));
    expect(second.status).toBe(409);
    expect(sha256(await directBody(stowage.buckets.svc!, 'svc/big/once.pdf'))).toBe(sha256(first));
    expect(await listMultipartUploads(stowage.buckets.svc!)).toEqual([]);
  });

  it('racing writers of one key: exactly one wins, small and multipart alike', async () => {
    for (const [key, size] of [
      ['race/small.bin', 1000],
      ['race/large.bin', 11 * 2 ** 20],
    ] as const) {
      const bodies = Array.from({ length: 6 }, () => pdf(size));
      const results = await Promise.all(bodies.map((body) => put('svc', key, body)));
      const statuses = results.map((result) => result.status).sort();
      expect(statuses, key).toEqual([201, 409, 409, 409, 409, 409]);
      const winner = results.findIndex((result) => result.status === 201);
      expect(sha256(await directBody(stowage.buckets.svc!, `svc/${key}`))).toBe(sha256(bodies[winner]!));
    }
    expect(await listMultipartUploads(stowage.buckets.svc!)).toEqual([]);
  });

  it('overwrite on: a second PUT replaces the object', async () => {
    expect((await put('replace', 'doc.txt', text('one'), { 'content-type': 'text/plain' })).status).toBe(201);
    expect((await put('replace', 'doc.txt', text('two'), { 'content-type': 'text/plain' })).status).toBe(201);
    expect((await directBody(stowage.buckets.replace!, 'doc.txt')).toString()).toBe('two');
  });

  it('413 before reading when Content-Length is over the limit, and when a chunked body grows over it', async () => {
    const declared = await put('replace', 'too-big.bin', Buffer.alloc(2 * 2 ** 20));
    expect(declared.status).toBe(413);
    const chunked = await fetch(`${stowage.url}/v1/storages/replace/objects/too-big-chunked.bin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Blob([Buffer.alloc(2 * 2 ** 20)]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await listAllKeys(stowage.buckets.replace!)).not.toContain('too-big.bin');
    expect(await listAllKeys(stowage.buckets.replace!)).not.toContain('too-big-chunked.bin');
  });

  it('400 INVALID_KEY for unsafe keys', async () => {
    const bad = [
      'a/../b',
      'a/%2e%2e/b', // decoded by the router to a/../b
      '%2e%2e/escape',
      '..',
      'a//b',
      'a/./b',
      'ctl%0Achar',
      'nul%00byte',
      `${'k'.repeat(1025)}`,
      'back%5Cslash',
    ];
    for (const key of bad) {
      const result = await rawRequest(stowage.url, {
        method: 'PUT',
        path: `/v1/storages/svc/objects/${key}`,
        headers: { 'content-type': 'text/plain' },
        body: text('x'),
      });
      expect(result.status, key).toBe(400);
      expect(jsonOf(result.body).error?.code, key).toBe('INVALID_KEY');
    }
    expect(await listAllKeys(stowage.buckets.svc!, 'svc/a')).toEqual([]);
  });
});
