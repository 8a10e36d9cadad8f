import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { contents } from '../support/backend.ts';
import { pdf, sha256, text } from '../support/payloads.ts';
import { jsonOf, rawRequest } from '../support/raw-http.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/** Raw PUT under a caller-chosen key: create-only decided atomically by the backend, even under races. */
for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        svc: { prefix: 'svc/', maxFileSize: '30MiB', partSize: '5MiB', queueSize: 2 },
        replace: { overwrite: true, maxFileSize: '1MiB' },
      }),
    );
    const api = stowageApi(stowage);
    const storedBody = async (storage: string, key: string) =>
      (await stowage.backend(storage).object(key)).body;

    it('stores the body under the key (with the storage prefix in the backend)', async () => {
      const data = text('a,b\n1,2\n');
      const result = await api.put('svc', 'reports/2026/q4.csv', data, {
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
      expect(await stowage.backend('svc').keys()).toEqual(['svc/reports/2026/q4.csv']);
      expect((await storedBody('svc', 'svc/reports/2026/q4.csv')).equals(data)).toBe(true);
    });

    it('overwrite off: a second PUT to the key is 409 and the first object is unchanged', async () => {
      const first = text('first version');
      expect((await api.put('svc', 'once.txt', first, { 'content-type': 'text/plain' })).status).toBe(201);
      const second = await api.put('svc', 'once.txt', text('second version'), {
        'content-type': 'text/plain',
      });
      expect(second.status).toBe(409);
      expect(second.json.error?.code).toBe('OBJECT_EXISTS');
      expect((await storedBody('svc', 'svc/once.txt')).equals(first)).toBe(true);
    });

    it('overwrite off holds for large bodies too (the CI server ignores If-None-Match on multipart completion)', async () => {
      const first = pdf(12 * 2 ** 20);
      expect((await api.put('svc', 'big/once.pdf', first)).status).toBe(201);
      const second = await api.put('svc', 'big/once.pdf', pdf(12 * 2 ** 20));
      expect(second.status).toBe(409);
      expect(sha256(await storedBody('svc', 'svc/big/once.pdf'))).toBe(sha256(first));
      expect(await stowage.backend('svc').leftovers()).toEqual([]);
    });

    it('racing writers of one key: exactly one wins, small and large alike', async () => {
      for (const [key, size] of [
        ['race/small.bin', 1000],
        ['race/large.bin', 11 * 2 ** 20],
      ] as const) {
        const bodies = Array.from({ length: 6 }, () => pdf(size));
        const results = await Promise.all(bodies.map((body) => api.put('svc', key, body)));
        const statuses = results.map((result) => result.status).sort();
        expect(statuses, key).toEqual([201, 409, 409, 409, 409, 409]);
        const winner = results.findIndex((result) => result.status === 201);
        expect(sha256(await storedBody('svc', `svc/${key}`))).toBe(sha256(bodies[winner]!));
      }
      expect(await stowage.backend('svc').leftovers()).toEqual([]);
    });

    it('overwrite on: a second PUT replaces the object (200), metadata included', async () => {
      expect(
        (await api.put('replace', 'doc.txt', text('one'), { 'content-type': 'text/plain' })).status,
      ).toBe(201);
      expect(
        (await api.put('replace', 'doc.txt', text('<p>two</p>'), { 'content-type': 'text/html' })).status,
      ).toBe(200);
      const stored = await stowage.backend('replace').object('doc.txt');
      expect(stored.body.toString()).toBe('<p>two</p>');
      expect(stored.contentType).toBe('text/html');
      expect(stored.contentDisposition).toMatch(/^attachment;/);
    });

    it('racing overwriters: every write succeeds (one created it, 201; the others replaced, 200) and the object is one of them, whole', async () => {
      const bodies = Array.from({ length: 6 }, () => pdf(200_000));
      const results = await Promise.all(bodies.map((body) => api.put('replace', 'raced.pdf', body)));
      expect(results.map((result) => result.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
      const stored = sha256(await storedBody('replace', 'raced.pdf'));
      expect(bodies.map(sha256)).toContain(stored);
      expect(await stowage.backend('replace').leftovers()).toEqual([]);
    });

    it('413 before reading when Content-Length is over the limit, and when a chunked body grows over it', async () => {
      const before = await contents(stowage.backend('replace'));
      const declared = await api.put('replace', 'too-big.bin', Buffer.alloc(2 * 2 ** 20));
      expect(declared.status).toBe(413);
      const chunked = await fetch(`${stowage.url}/v1/storages/replace/objects/too-big-chunked.bin`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Blob([Buffer.alloc(2 * 2 ** 20)]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await contents(stowage.backend('replace'))).toEqual(before);
    });

    it('400 INVALID_KEY for unsafe keys, nothing stored', async () => {
      const before = await contents(stowage.backend('svc'));
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
      expect(await contents(stowage.backend('svc'))).toEqual(before);
    });
  });
