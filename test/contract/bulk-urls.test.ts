import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesOf } from '../support/api.ts';
import { pdf, png, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Links in bulk: `POST /v1/storages/{storage}/urls` with `{"keys": [...]}` answers
 * `{"urls": [...]}` in the order asked, each key with its link or its own error, for private and
 * public storages, under the same access rules as the single form. The links are fetched: each
 * serves its own bytes with the type that was pinned (or decided) at signing.
 */

const SECRET = 'bulk-links-secret-bulk-links-secret-0123';
const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'stowage';
const ALL = 'stw_bulk_all_key_00000000000000000000000000000';
const READER = 'stw_bulk_reader_key_000000000000000000000000000';
const sha = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

interface Outcome {
  key: string;
  url?: string;
  expiresAt?: string | null;
  expiresIn?: number | null;
  error?: { code: string; message: string };
}

const HTML = text('<!doctype html><script>alert(document.domain)</script>');

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const profiles = forDriver(driver, {
      private: {
        overwrite: true,
        contentDisposition: 'inline',
        presign: { defaultTtl: '10m', maxTtl: '1h' },
      },
      public: { access: 'public', acl: 'public-read' },
      mine: { ownerPrefix: 'users/{sub}/' },
    });
    const stowage = useStowage({
      ...profiles,
      config: {
        auth: {
          apiKeys: [
            { name: 'all', hash: sha(ALL), grants: ['*:*'] },
            { name: 'reader', hash: sha(READER), grants: ['private:read', 'private:list'] },
          ],
          jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
        },
      },
    });

    const call = async (
      storage: string,
      body: unknown,
      headers: Record<string, string> = bearer(ALL),
    ): Promise<{ status: number; json: { urls: Outcome[]; error?: { code: string } } }> => {
      const response = await fetch(`${stowage.url}/v1/storages/${storage}/urls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as never };
    };
    const put = async (storage: string, key: string, body: Buffer, type: string) => {
      const path = key.split('/').map(encodeURIComponent).join('/');
      const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects/${path}`, {
        method: 'PUT',
        body,
        headers: { 'content-type': type, ...bearer(ALL) },
      });
      expect(response.status, key).toBeLessThan(300);
      await response.arrayBuffer();
    };

    const objects = {
      'b.pdf': { body: pdf(3000), type: 'application/pdf' },
      'a.png': { body: png(700), type: 'image/png' },
      'page.html': { body: HTML, type: 'text/html' },
      'c.txt': { body: text('just text'), type: 'text/plain' },
      'dir/späce (1)!.txt': { body: text('odd key'), type: 'text/plain' },
    } as const;
    type Name = keyof typeof objects;

    beforeAll(async () => {
      for (const [key, { body, type }] of Object.entries(objects)) await put('private', key, body, type);
    });

    it('answers in the order asked, each key with its link or its own error; the links serve their bytes', async () => {
      const keys = [
        'b.pdf',
        'missing.png',
        'a.png',
        '../escape.txt',
        'page.html',
        '',
        'c.txt',
        'a.png',
        'dir/späce (1)!.txt',
        'x'.repeat(1100),
      ];
      const { status, json } = await call('private', { keys, expiresIn: 120 });
      expect(status).toBe(200);
      expect(json.urls.map((outcome) => outcome.key)).toEqual(keys);
      expect(json.urls.map((outcome) => outcome.error?.code ?? 'ok')).toEqual([
        'ok',
        'OBJECT_NOT_FOUND',
        'ok',
        'INVALID_KEY',
        'ok',
        'INVALID_KEY',
        'ok',
        'ok',
        'ok',
        'INVALID_KEY',
      ]);
      for (const outcome of json.urls) {
        if (outcome.error) {
          expect(outcome.error.message.length).toBeGreaterThan(0);
          expect(outcome.url).toBeUndefined();
          continue;
        }
        const stored = objects[outcome.key as Name];
        expect(outcome.expiresIn).toBeGreaterThanOrEqual(119);
        expect(outcome.expiresIn).toBeLessThanOrEqual(120);
        expect(Date.parse(outcome.expiresAt!)).toBeGreaterThan(Date.now() + 100_000);
        // The links are usable without Stowage credentials.
        const fetched = await fetch(outcome.url!);
        expect(fetched.status, outcome.key).toBe(200);
        expect(fetched.headers.get('content-type'), outcome.key).toMatch(new RegExp(`^${stored.type}`));
        const disposition = fetched.headers.get('content-disposition') ?? '';
        if (stored.type === 'text/html') expect(disposition).toMatch(/^attachment/);
        else if (driver === 's3') expect(disposition).toMatch(/^inline/);
        expect((await bytesOf(fetched)).equals(stored.body), outcome.key).toBe(true);
        if (driver === 's3') {
          const query = new URL(outcome.url!).searchParams;
          expect(query.get('X-Amz-SignedHeaders')).toBe('host');
          expect(query.get('response-content-type')).toBe(stored.type);
        }
      }
      expect(json.urls[2]?.url).toBe(json.urls[7]?.url);
    });

    it('a bulk link to a text file replaced by HTML still never serves that HTML inline as HTML', async () => {
      await put('private', 'swap.txt', text('harmless'), 'text/plain');
      const { json } = await call('private', { keys: ['swap.txt'] });
      const url = json.urls[0]!.url!;
      await put('private', 'swap.txt', HTML, 'text/html');
      const after = await fetch(url);
      expect(after.status).toBe(200);
      const type = after.headers.get('content-type') ?? '';
      expect((await bytesOf(after)).equals(HTML)).toBe(true);
      if (driver === 's3') expect(type).toMatch(/^text\/plain/);
      else {
        expect(type).toMatch(/^text\/html/);
        expect(after.headers.get('content-disposition')).toMatch(/^attachment/);
        expect(after.headers.get('x-content-type-options')).toBe('nosniff');
      }
    });

    it('clamps the expiry to the storage maximum and uses the default when none is asked', async () => {
      for (const [asked, granted] of [
        [{ expiresIn: 7 * 24 * 3600 }, 3600],
        [{}, 600],
      ] as const) {
        const { json } = await call('private', { keys: ['a.png', 'b.pdf'], ...asked });
        for (const outcome of json.urls) {
          expect(outcome.expiresIn).toBeLessThanOrEqual(granted);
          expect(outcome.expiresIn).toBeGreaterThanOrEqual(granted - 1);
        }
      }
    });

    it('takes 1 to 1000 keys: 1000 are answered in order, 0 or 1001 are a 400', async () => {
      const keys = Array.from({ length: 1000 }, (_, i) => (i % 100 === 0 ? 'a.png' : `none/${i}.bin`));
      const { status, json } = await call('private', { keys });
      expect(status).toBe(200);
      expect(json.urls.map((outcome) => outcome.key)).toEqual(keys);
      for (const [i, outcome] of json.urls.entries())
        expect(outcome.error?.code ?? 'ok', String(i)).toBe(i % 100 === 0 ? 'ok' : 'OBJECT_NOT_FOUND');
      for (const body of [{ keys: [] }, { keys: [...keys, 'a.png'] }, { keys: 'a.png' }, { keys: [1] }]) {
        const refused = await call('private', body);
        expect(refused.status, JSON.stringify(body).slice(0, 40)).toBe(400);
        expect(refused.json.error?.code).toBe('VALIDATION_FAILED');
      }
    });

    it('a public storage answers its public URLs, which do not expire and need no signature', async () => {
      const data = png(400);
      await put('public', 'p/1.png', data, 'image/png');
      const { status, json } = await call('public', { keys: ['p/1.png', 'p/missing.png'], expiresIn: 60 });
      expect(status).toBe(200);
      const [found, missing] = json.urls;
      expect(found).toMatchObject({ key: 'p/1.png', expiresAt: null, expiresIn: null });
      expect(missing?.error?.code).toBe('OBJECT_NOT_FOUND');
      const fetched = await fetch(found!.url!);
      expect(fetched.status).toBe(200);
      expect((await bytesOf(fetched)).equals(data)).toBe(true);
      if (driver === 's3') expect(new URL(found!.url!).searchParams.has('X-Amz-Signature')).toBe(false);
    });

    it('is scoped like the single form: the sign grant for the storage, the owner prefix per key', async () => {
      expect((await call('private', { keys: ['a.png'] }, {})).status).toBe(401);
      expect((await call('private', { keys: ['a.png'] }, bearer(READER))).status).toBe(403);
      expect((await call('private', { keys: ['a.png'] }, bearer(`${ALL}x`))).status).toBe(401);

      await put('mine', 'users/dana/own.txt', text('dana'), 'text/plain');
      await put('mine', 'users/erin/other.txt', text('erin'), 'text/plain');
      const jwt = await new SignJWT({ sub: 'dana', scope: 'mine:sign' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
        .sign(new TextEncoder().encode(SECRET));
      const keys = ['users/dana/own.txt', 'users/erin/other.txt', 'own.txt', 'users/dana/none.txt'];
      const { status, json } = await call('mine', { keys }, bearer(jwt));
      expect(status).toBe(200);
      expect(json.urls.map((outcome) => outcome.error?.code ?? 'ok')).toEqual([
        'ok',
        'FORBIDDEN',
        'FORBIDDEN',
        'OBJECT_NOT_FOUND',
      ]);
      // The single form refuses the same keys (there, as the whole answer).
      const single = await call('mine', { key: 'users/erin/other.txt' }, bearer(jwt));
      expect(single.status).toBe(403);
      const own = await fetch(json.urls[0]!.url!);
      expect(await own.text()).toBe('dana');
      // Another storage's grant does not open this one.
      expect((await call('private', { keys: ['a.png'] }, bearer(jwt))).status).toBe(403);
    });
  });
