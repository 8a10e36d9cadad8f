import { describe, expect, it } from 'vitest';
import { bytesOf, stowageApi } from '../support/api.ts';
import { pdf, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * A link outlives the object it was signed for: someone who may write and sign links signs one to a
 * harmless text file, then replaces the object with HTML. The old link must not serve that HTML as
 * a page — not from Stowage's origin (local links), not from the bucket's (presigned S3 URLs).
 */
const HTML = text('<!doctype html><script>alert(document.domain)</script>');

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, { notes: { overwrite: true, contentDisposition: 'inline' } }),
    );
    const api = stowageApi(stowage);

    // 201 for a new object, 200 when it replaced one (conditional-put.test.ts).
    const put = async (key: string, body: Buffer, type: string, expected = 201) => {
      const { status } = await api.put('notes', key, body, { 'content-type': type });
      expect(status).toBe(expected);
    };
    const link = async (body: Record<string, unknown>) => {
      const { status, json } = await api.urlFor('notes', body);
      expect(status).toBe(200);
      return json.url;
    };

    it('an old link to a text file replaced by HTML never serves that HTML inline as HTML', async () => {
      await put('readme.txt', text('just text'), 'text/plain');
      const plain = await link({ key: 'readme.txt' });
      const named = await link({ key: 'readme.txt', filename: 'notes.txt' });
      const before = await fetch(plain);
      expect(before.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(before.headers.get('content-disposition')).toMatch(/^inline/);
      await before.arrayBuffer();

      await put('readme.txt', HTML, 'text/html', 200);
      for (const url of [named, plain]) {
        const after = await fetch(url);
        expect(after.status, url).toBe(200);
        const type = after.headers.get('content-type') ?? '';
        const disposition = after.headers.get('content-disposition') ?? '';
        expect((await bytesOf(after)).equals(HTML)).toBe(true);
        if (driver === 's3') {
          // S3 cannot add nosniff or a CSP: the URL pins the type (and disposition) of signing time.
          expect(type).toMatch(/^text\/plain/);
        } else {
          expect(type).toMatch(/^text\/html/);
          expect(disposition).toMatch(/^attachment/);
          expect(after.headers.get('x-content-type-options')).toBe('nosniff');
          expect(after.headers.get('content-security-policy')).toBe('sandbox');
        }
        if (url === named) expect(disposition).toContain('notes.txt');
      }
      expect((await api.object('notes', 'readme.txt', { method: 'DELETE' })).status).toBe(204);
    });

    it('objects Stowage serves carry a sandbox CSP (not inline PDFs, which browsers then refuse to show)', async () => {
      await put('page.html', HTML, 'text/html');
      const page = await api.object('notes', 'page.html');
      expect(page.headers.get('content-disposition')).toMatch(/^attachment/);
      expect(page.headers.get('content-security-policy')).toBe('sandbox');
      await page.arrayBuffer();
      await put('plain.txt', text('hello'), 'text/plain');
      const plain = await api.object('notes', 'plain.txt', { method: 'HEAD' });
      expect(plain.headers.get('content-disposition')).toMatch(/^inline/);
      expect(plain.headers.get('content-security-policy')).toBe('sandbox');
      await put('paper.pdf', pdf(1000), 'application/pdf');
      const paper = await api.object('notes', 'paper.pdf');
      expect(paper.headers.get('content-disposition')).toMatch(/^inline/);
      expect(paper.headers.get('content-security-policy')).toBeNull();
      await paper.arrayBuffer();
      for (const key of ['page.html', 'plain.txt', 'paper.pdf'])
        await api.object('notes', key, { method: 'DELETE' });
    });
  });
