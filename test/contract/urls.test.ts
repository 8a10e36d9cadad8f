import { describe, expect, inject, it } from 'vitest';
import { bytesOf, errorCodeOf, stowageApi } from '../support/api.ts';
import { form, pdf, png } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Download URLs. Private storages hand out links that something other than the API serves: S3 itself
 * (presigned) or Stowage's link route (signed by Stowage, for local storages). Either way the link
 * serves its object and nothing else, refuses tampering and expiry with 403, and cannot outlive the
 * storage's maximum. Public storages hand out their public URL, which works without any signature.
 */

/** The query parameters that carry a link's signature, expiry and download filename. */
const LINK_PARAMS = {
  s3: { signature: 'X-Amz-Signature', expiry: 'X-Amz-Expires', disposition: 'response-content-disposition' },
  local: { signature: 'signature', expiry: 'expires', disposition: 'disposition' },
} as const;

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        private: { presign: { defaultTtl: '10m', maxTtl: '1h' } },
        // The ACL lets anonymous readers fetch the bucket URL, as a public bucket or a CDN would.
        public: { access: 'public', acl: 'public-read' },
      }),
    );
    const api = stowageApi(stowage);
    const params = LINK_PARAMS[driver];
    const issued: string[] = [];

    async function uploadOne(storage: string, data: Buffer, name: string, type: string) {
      const { status, json } = await api.upload(storage, form({ name, type, data }));
      expect(status).toBe(201);
      return json.objects[0]!;
    }

    async function link(body: Record<string, unknown>) {
      const { status, json } = await api.urlFor('private', body);
      expect(status).toBe(200);
      issued.push(json.url);
      return json;
    }

    /** When the link stops working, read from the link itself. */
    function expiryOf(url: string): number {
      const query = new URL(url).searchParams;
      if (driver === 'local') return Number(query.get('expires')) * 1000;
      const signed = query
        .get('X-Amz-Date')!
        .replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
      return Date.parse(signed) + Number(query.get('X-Amz-Expires')) * 1000;
    }

    function tampered(url: string, param: string): URL {
      const changed = new URL(url);
      const value = changed.searchParams.get(param) ?? '';
      const other = value.startsWith('a') ? 'b' : 'a';
      changed.searchParams.set(
        param,
        /^\d+$/.test(value) ? String(Number(value) + 1) : other + value.slice(1),
      );
      return changed;
    }

    async function expectRefused(url: URL | string) {
      const response = await fetch(url);
      expect(response.status, String(url)).toBe(403);
      if (driver === 'local') expect(await errorCodeOf(response)).toBe('FORBIDDEN');
    }

    it('a private object gets a link that serves it, and only it, until it expires', async () => {
      const data = pdf(40_000);
      const { key } = await uploadOne('private', data, 'contract.pdf', 'application/pdf');
      const before = Date.now();
      const json = await link({ key, expiresIn: 120 });
      expect(json.expiresIn).toBeGreaterThanOrEqual(119);
      expect(json.expiresIn).toBeLessThanOrEqual(120);
      expect(Date.parse(json.expiresAt!)).toBeGreaterThanOrEqual(before - 1000 + 120_000);
      expect(expiryOf(json.url)).toBe(Date.parse(json.expiresAt!));

      const fetched = await fetch(json.url);
      expect(fetched.status).toBe(200);
      expect((await bytesOf(fetched)).equals(data)).toBe(true);

      await expectRefused(tampered(json.url, params.signature));
      await expectRefused(tampered(json.url, params.expiry));
      const otherKey = new URL(json.url);
      otherKey.pathname = otherKey.pathname.replace(key, `x${key}`);
      await expectRefused(otherKey);

      if (driver === 's3') {
        const url = new URL(json.url);
        expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
        expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
        expect(json.url.startsWith(stowage.url)).toBe(false); // S3 serves it, not Stowage
      } else {
        expect(json.url.startsWith(`${stowage.url}/v1/links/private/${key}?`)).toBe(true);
      }
    });

    it('a link honours Range and If-None-Match like the API does', async () => {
      const data = pdf(5000);
      const { key, etag } = await uploadOne('private', data, 'ranged.pdf', 'application/pdf');
      const { url } = await link({ key });
      const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes 10-19/${data.length}`);
      expect((await bytesOf(ranged)).equals(data.subarray(10, 20))).toBe(true);
      const cached = await fetch(url, { headers: { 'if-none-match': etag } });
      expect(cached.status).toBe(304);
    });

    it('clamps the expiry to the storage maximum, and uses the default when none is asked', async () => {
      const { key } = await uploadOne('private', pdf(1000), 'a.pdf', 'application/pdf');
      for (const [asked, granted] of [
        [{ expiresIn: 7 * 24 * 3600 }, 3600],
        [{}, 600],
      ] as const) {
        const before = Date.now();
        const json = await link({ key, ...asked });
        expect(json.expiresIn).toBeLessThanOrEqual(granted);
        expect(json.expiresIn).toBeGreaterThanOrEqual(granted - 1);
        expect(expiryOf(json.url)).toBe(Date.parse(json.expiresAt!));
        expect(expiryOf(json.url)).toBeLessThanOrEqual(Date.now() + granted * 1000);
        expect(expiryOf(json.url)).toBeGreaterThanOrEqual(before - 1000 + granted * 1000);
      }
    });

    it('an expired link is refused', async () => {
      const { key } = await uploadOne('private', pdf(1000), 'b.pdf', 'application/pdf');
      const { url } = await link({ key, expiresIn: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await expectRefused(url);
    });

    it('a download filename is carried by the link (RFC 6266/5987), and cannot be changed', async () => {
      const { key } = await uploadOne('private', pdf(1000), 'c.pdf', 'application/pdf');
      const { url } = await link({ key, filename: 'Überweisung März.pdf' });
      const fetched = await fetch(url);
      expect(fetched.status).toBe(200);
      const disposition = fetched.headers.get('content-disposition');
      expect(disposition).toMatch(/^inline; filename="/);
      expect(disposition).toContain("filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf");
      await fetched.arrayBuffer();
      await expectRefused(tampered(url, params.disposition));
    });

    it('a public object gets its public URL: it does not expire and works without a signature', async () => {
      const data = png(500);
      const stored = await uploadOne('public', data, 'p.png', 'image/png');
      const { status, json } = await api.urlFor('public', { key: stored.key, expiresIn: 60 });
      expect(status).toBe(200);
      expect(json).toEqual({ url: stored.url, expiresAt: null, expiresIn: null });
      const fetched = await fetch(json.url);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toBe('image/png');
      expect((await bytesOf(fetched)).equals(data)).toBe(true);
      if (driver === 'local') expect(json.url).toBe(`${stowage.url}/v1/public/public/${stored.key}`);
    });

    it('a private object is not served at the address a public one would have', async () => {
      const { key } = await uploadOne('private', pdf(1000), 'd.pdf', 'application/pdf');
      const profile = stowage.config.storages.private!;
      const unsigned =
        profile.driver === 's3'
          ? `${inject('s3').endpoint}/${profile.bucket}/${key}`
          : `${stowage.url}/v1/public/private/${key}`;
      const response = await fetch(unsigned);
      expect([403, 404]).toContain(response.status);
      await response.arrayBuffer();
    });

    it('404 for a missing object, 400 for an invalid request', async () => {
      const missing = await api.urlFor('private', { key: 'no/such/key.pdf' });
      expect(missing.status).toBe(404);
      expect(missing.json.error?.code).toBe('OBJECT_NOT_FOUND');
      for (const body of [
        {},
        { key: '' },
        { key: 'a', expiresIn: -5 },
        { key: 'a', expiresIn: 'soon' },
        { key: '../a' },
      ]) {
        const invalid = await api.urlFor('private', body);
        expect(invalid.status, JSON.stringify(body)).toBe(400);
      }
      expect((await api.urlFor('nope', { key: 'a' })).status).toBe(404);
    });

    it('never writes a signature or a credential to the log', () => {
      const joined = stowage.logs.join('\n');
      // The URL route's completion lines say what was issued (and nothing secret, below).
      expect(joined).toMatch(
        /"url":"\/v1\/storages\/private\/urls".*"expiresIn":\d+.*"msg":"request completed"/,
      );
      expect(issued.length).toBeGreaterThan(3);
      for (const url of issued) expect(joined).not.toContain(new URL(url).searchParams.get(params.signature));
      expect(joined).not.toContain(stowage.config.s3.credentials?.secretAccessKey ?? 'unset');
      expect(joined).not.toContain('X-Amz-Credential=');
    });
  });
