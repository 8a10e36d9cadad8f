import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesOf } from '../support/api.ts';
import { png, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * `presign.check: none` (issue 16): links are signed without asking the backend. So a key that does
 * not exist still gets a link (it answers 404 when used, which is what shows no HEAD was made), and
 * since the type is not known when signing, every private link serves as `attachment`: an object
 * that is HTML, or swapped for HTML after signing, is never rendered as a page. The bytes and the
 * stored type are served as they are, so `<img src>` galleries keep working.
 */

const KEY = 'stw_unchecked_links_key_0000000000000000000000';
const auth = { authorization: `Bearer ${KEY}` };
const HTML = text('<!doctype html><script>alert(document.domain)</script>');
const IMAGE = png(900);

interface Outcome {
  key: string;
  url?: string;
  expiresIn?: number | null;
  error?: { code: string };
}

for (const driver of DRIVERS)
  describe(`${driver} driver, presign.check none`, () => {
    const stowage = useStowage({
      ...forDriver(driver, {
        gallery: { overwrite: true, contentDisposition: 'inline', presign: { check: 'none' } },
        public: { access: 'public', acl: 'public-read', presign: { check: 'none' } },
      }),
      config: {
        auth: {
          apiKeys: [
            {
              name: 'all',
              hash: `sha256:${createHash('sha256').update(KEY).digest('hex')}`,
              grants: ['*:*'],
            },
          ],
        },
      },
    });
    const links = async (storage: string, keys: string[]): Promise<Outcome[]> => {
      const response = await fetch(`${stowage.url}/v1/storages/${storage}/urls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ keys, expiresIn: 60 }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { urls: Outcome[] }).urls;
    };
    const put = async (key: string, body: Buffer, type: string) => {
      const response = await fetch(`${stowage.url}/v1/storages/gallery/objects/${key}`, {
        method: 'PUT',
        body,
        headers: { 'content-type': type, ...auth },
      });
      expect(response.status).toBeLessThan(300);
      await response.arrayBuffer();
    };

    beforeAll(async () => {
      await put('cat.png', IMAGE, 'image/png');
      await put('page.html', HTML, 'text/html');
    });

    it('signs every key without a check: the missing one gets a link that answers 404', async () => {
      const outcomes = await links('gallery', ['cat.png', 'missing.png', 'page.html']);
      expect(outcomes.map((outcome) => [outcome.key, outcome.error?.code ?? 'ok'])).toEqual([
        ['cat.png', 'ok'],
        ['missing.png', 'ok'],
        ['page.html', 'ok'],
      ]);
      const missing = await fetch(outcomes[1]!.url!);
      expect(missing.status).toBe(404);
      await missing.arrayBuffer();
    });

    it('serves every private link as attachment, with its bytes and stored type', async () => {
      const [image, page] = await links('gallery', ['cat.png', 'page.html']);
      const fetchedImage = await fetch(image!.url!);
      expect(fetchedImage.status).toBe(200);
      expect(fetchedImage.headers.get('content-type')).toMatch(/^image\/png/);
      expect(fetchedImage.headers.get('content-disposition')).toMatch(/^attachment/);
      expect((await bytesOf(fetchedImage)).equals(IMAGE)).toBe(true);

      const fetchedPage = await fetch(page!.url!);
      expect(fetchedPage.status).toBe(200);
      expect(fetchedPage.headers.get('content-disposition')).toMatch(/^attachment/);
      expect((await bytesOf(fetchedPage)).equals(HTML)).toBe(true);
    });

    it('the single form follows the same rule, and keeps the download filename', async () => {
      const response = await fetch(`${stowage.url}/v1/storages/gallery/urls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ key: 'cat.png', filename: 'Katze.png' }),
      });
      expect(response.status).toBe(200);
      const { url } = (await response.json()) as { url: string };
      const fetched = await fetch(url);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-disposition')).toMatch(/^attachment; filename="?Katze\.png"?(;|$)/);
      await fetched.arrayBuffer();
    });

    it('a public storage answers the public URL of any key, with no expiry', async () => {
      const [outcome] = await links('public', ['never-written.png']);
      expect(outcome?.error).toBeUndefined();
      expect(outcome?.url).toMatch(/never-written\.png$/);
      expect(outcome?.expiresIn).toBeNull();
    });
  });
