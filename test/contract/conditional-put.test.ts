import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { contents } from '../support/backend.ts';
import { pdf, sha256, text } from '../support/payloads.ts';
import { slowUpload } from '../support/slow-upload.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Conditional raw PUT (If-Match, If-None-Match), on every driver: 412 PRECONDITION_FAILED when the
 * condition fails, with the stored object untouched and nothing left behind; 201 for a new key, 200
 * when an object was replaced.
 */
const MiB = 2 ** 20;

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        cond: { overwrite: true, maxFileSize: '30MiB', partSize: '5MiB', queueSize: 2 },
        once: { maxFileSize: '1MiB' },
      }),
    );
    const api = stowageApi(stowage);
    const stored = async (storage: string, key: string) =>
      sha256((await stowage.backend(storage).object(key)).body);
    const code = (answer: { json: { error?: { code: string } } }) => answer.json.error?.code;

    it('overwrite storage: 201 for a new key, 200 when it replaces one (small and multipart bodies)', async () => {
      for (const [key, size] of [
        ['plain/small.bin', 1000],
        ['plain/large.bin', 11 * MiB],
      ] as const) {
        expect((await api.put('cond', key, pdf(size))).status, key).toBe(201);
        const second = pdf(size);
        const replaced = await api.put('cond', key, second);
        expect(replaced.status, key).toBe(200);
        expect(replaced.json.etag, key).toMatch(/^".+"$/);
        expect(await stored('cond', key), key).toBe(sha256(second));
      }
      expect(await stowage.backend('cond').leftovers()).toEqual([]);
    });

    it('If-None-Match: * on an overwrite storage: 412 when the key exists, object untouched, nothing left', async () => {
      for (const [key, size] of [
        ['inm/small.bin', 1000],
        ['inm/large.bin', 11 * MiB],
      ] as const) {
        const first = pdf(size);
        expect((await api.put('cond', key, first, { 'if-none-match': '*' })).status, key).toBe(201);
        const second = await api.put('cond', key, pdf(size), { 'if-none-match': '*' });
        expect(second.status, key).toBe(412);
        expect(code(second), key).toBe('PRECONDITION_FAILED');
        expect(await stored('cond', key), key).toBe(sha256(first));
      }
      expect(await stowage.backend('cond').keys('inm/')).toEqual(['inm/large.bin', 'inm/small.bin']);
      expect(await stowage.backend('cond').leftovers()).toEqual([]);
    });

    it('If-Match: replaces only the object with that strong ETag (a list or * too); else 412, untouched', async () => {
      const key = 'im/doc.bin';
      const first = pdf(2000);
      const created = await api.put('cond', key, first);
      const etag = created.json.etag;
      for (const ifMatch of ['"0123456789abcdef0123456789abcdef"', `W/${etag}`, `W/${etag}, "x"`]) {
        const refused = await api.put('cond', key, pdf(2000), { 'if-match': ifMatch });
        expect(refused.status, ifMatch).toBe(412);
        expect(code(refused), ifMatch).toBe('PRECONDITION_FAILED');
        expect(await stored('cond', key), ifMatch).toBe(sha256(first));
      }
      const second = pdf(2000);
      const matched = await api.put('cond', key, second, { 'if-match': `"x", ${etag}` });
      expect(matched.status).toBe(200);
      expect(await stored('cond', key)).toBe(sha256(second));
      const stale = await api.put('cond', key, pdf(2000), { 'if-match': etag });
      expect(stale.status).toBe(412);
      const third = pdf(12 * MiB);
      const any = await api.put('cond', key, third, { 'if-match': '*' });
      expect(any.status).toBe(200);
      expect(await stored('cond', key)).toBe(sha256(third));
      const staleLarge = await api.put('cond', key, pdf(12 * MiB), { 'if-match': matched.json.etag });
      expect(staleLarge.status).toBe(412);
      expect(await stored('cond', key)).toBe(sha256(third));
      expect(await stowage.backend('cond').leftovers()).toEqual([]);
    });

    it('If-Match on a missing key, or with If-None-Match: * besides: 412 and nothing stored', async () => {
      const before = await contents(stowage.backend('cond'));
      for (const headers of [
        { 'if-match': '*' },
        { 'if-match': '"0123456789abcdef0123456789abcdef"' },
        { 'if-match': '*', 'if-none-match': '*' },
      ]) {
        for (const size of [1000, 11 * MiB]) {
          const answer = await api.put('cond', 'absent/x.bin', pdf(size), headers);
          expect(answer.status, JSON.stringify(headers)).toBe(412);
          expect(code(answer)).toBe('PRECONDITION_FAILED');
        }
      }
      expect(await contents(stowage.backend('cond'))).toEqual(before);
    });

    it('If-None-Match with tags: 412 when one matches the stored object, else it is replaced (200)', async () => {
      const key = 'inm-tags/doc.bin';
      const created = await api.put('cond', key, pdf(1000));
      const refused = await api.put('cond', key, pdf(1000), {
        'if-none-match': `"x", W/${created.json.etag}`,
      });
      expect(refused.status).toBe(412);
      const second = pdf(1000);
      expect((await api.put('cond', key, second, { 'if-none-match': '"x"' })).status).toBe(200);
      expect(await stored('cond', key)).toBe(sha256(second));
      expect((await api.put('cond', 'inm-tags/new.bin', pdf(1000), { 'if-none-match': '"x"' })).status).toBe(
        201,
      );
    });

    it('racing If-None-Match: * writers on an overwrite storage: exactly one 201, the others 412, small and large', async () => {
      for (const [key, size] of [
        ['race-inm/small.bin', 1000],
        ['race-inm/large.bin', 11 * MiB],
      ] as const) {
        const bodies = Array.from({ length: 5 }, () => pdf(size));
        const results = await Promise.all(
          bodies.map((body) => api.put('cond', key, body, { 'if-none-match': '*' })),
        );
        expect(results.map((result) => result.status).sort(), key).toEqual([201, 412, 412, 412, 412]);
        const winner = results.findIndex((result) => result.status === 201);
        expect(await stored('cond', key), key).toBe(sha256(bodies[winner]!));
      }
      expect(await stowage.backend('cond').leftovers()).toEqual([]);
    });

    it('racing If-Match writers on one ETag (one-part bodies): exactly one 200, the others 412', async () => {
      const key = 'race-im/doc.bin';
      const { etag } = (await api.put('cond', key, pdf(1000))).json;
      const bodies = Array.from({ length: 5 }, () => pdf(1000));
      const results = await Promise.all(
        bodies.map((body) => api.put('cond', key, body, { 'if-match': etag })),
      );
      expect(results.map((result) => result.status).sort()).toEqual([200, 412, 412, 412, 412]);
      const winner = results.findIndex((result) => result.status === 200);
      expect(await stored('cond', key)).toBe(sha256(bodies[winner]!));
    });

    it('an object replaced while a large If-Match upload was streaming: 412, the other write stays, nothing left', async () => {
      const key = 'raced/doc.bin';
      const original = await api.put('cond', key, pdf(1000));
      const upload = slowUpload(stowage.url, `/v1/storages/cond/objects/${key}`, 16 * MiB, {
        'if-match': original.json.etag,
      });
      await upload.send(8 * MiB);
      // The upload is under way (its condition was checked on arrival): a multipart upload or temp file exists.
      for (let tries = 0; (await stowage.backend('cond').leftovers()).length === 0; tries++) {
        expect(tries).toBeLessThan(100);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const meanwhile = pdf(1000);
      expect((await api.put('cond', key, meanwhile)).status).toBe(200);
      upload.finish();
      const answer = await upload.response;
      expect(answer.status).toBe(412);
      expect(answer.body.error?.code).toBe('PRECONDITION_FAILED');
      expect(await stored('cond', key)).toBe(sha256(meanwhile));
      expect(await stowage.backend('cond').leftovers()).toEqual([]);
    });

    it('create-only storage: If-None-Match: * is answered 412 (409 without it); If-Match never writes', async () => {
      const first = text('first');
      expect((await api.put('once', 'doc.txt', first, { 'if-none-match': '*' })).status).toBe(201);
      const explicit = await api.put('once', 'doc.txt', text('second'), { 'if-none-match': '*' });
      expect(explicit.status).toBe(412);
      expect(code(explicit)).toBe('PRECONDITION_FAILED');
      const implicit = await api.put('once', 'doc.txt', text('second'));
      expect(implicit.status).toBe(409);
      expect(code(implicit)).toBe('OBJECT_EXISTS');
      const etag = (await api.object('once', 'doc.txt', { method: 'HEAD' })).headers.get('etag') ?? '';
      const matching = await api.put('once', 'doc.txt', text('second'), { 'if-match': etag });
      expect(matching.status).toBe(409);
      expect(code(matching)).toBe('OBJECT_EXISTS');
      expect((await api.put('once', 'missing.txt', text('x'), { 'if-match': '*' })).status).toBe(412);
      expect(await stowage.backend('once').keys()).toEqual(['doc.txt']);
      expect((await stowage.backend('once').object('doc.txt')).body.equals(first)).toBe(true);
    });
  });
