import { describe, expect, it } from 'vitest';
import { bytesOf, stowageApi } from '../support/api.ts';
import { form, pdf, png, sha256, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/** Multipart uploads: what the client gets back, what a read returns, and what landed in the backend. */
for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        media: {
          prefix: 'uploads/',
          access: 'public',
          publicBaseUrl: 'https://cdn.example.test',
          allowedTypes: ['image/*'],
          cacheControl: 'public, max-age=31536000, immutable',
          maxFileSize: '1MiB',
          maxFiles: 3,
        },
        private: { contentDisposition: 'attachment', maxFileSize: '40MiB', partSize: '5MiB', queueSize: 2 },
        files: {}, // the defaults: any type, inline
      }),
    );
    const api = stowageApi(stowage);

    it('stores one file under a generated key and reads it back byte-identical', async () => {
      const data = pdf(150_000);
      const { status, json } = await api.upload(
        'private',
        form({ name: 'Quarterly report.pdf', type: 'application/pdf', data }),
      );
      expect(status).toBe(201);
      const [stored] = json.objects;
      expect(stored).toMatchObject({
        storage: 'private',
        size: data.length,
        contentType: 'application/pdf',
        checksum: { sha256: sha256(data) },
        originalName: 'Quarterly report.pdf',
      });
      expect(stored?.key).toMatch(/^[0-9a-f]{32}\.pdf$/);
      expect(stored?.etag).toMatch(/^".+"$/);
      expect(stored?.url).toBeUndefined();

      const read = await api.object('private', stored!.key);
      expect(read.status).toBe(200);
      expect(read.headers.get('content-type')).toBe('application/pdf');
      expect(read.headers.get('etag')).toBe(stored?.etag);
      expect(read.headers.get('x-content-type-options')).toBe('nosniff');
      expect(read.headers.get('content-disposition')).toBe('attachment; filename="Quarterly report.pdf"');
      expect((await bytesOf(read)).equals(data)).toBe(true);
      expect((await stowage.backend('private').object(stored!.key)).body.equals(data)).toBe(true);
    });

    it('stores several files of one request, each with its own key, type and stored metadata', async () => {
      const files = [
        { name: 'a.png', type: 'image/png', data: png(5000) },
        { name: 'b.png', type: 'application/octet-stream', data: png(7000) },
        { name: 'café-ünïcode.png', type: 'image/png', data: png(100) },
      ];
      const { status, json } = await api.upload('media', form(...files));
      expect(status).toBe(201);
      expect(json.objects).toHaveLength(3);
      for (const [index, stored] of json.objects.entries()) {
        const file = files[index]!;
        expect(stored.contentType).toBe('image/png');
        expect(stored.size).toBe(file.data.length);
        expect(stored.originalName).toBe(file.name);
        expect(stored.url).toBe(`https://cdn.example.test/uploads/${stored.key}`);
        // What a CDN in front of the backend would serve, without Stowage in the way.
        const direct = await stowage.backend('media').object(`uploads/${stored.key}`);
        expect(direct.contentType).toBe('image/png');
        expect(direct.cacheControl).toBe('public, max-age=31536000, immutable');
        expect(direct.contentDisposition).toMatch(/^inline; filename=/);
        expect((await bytesOf(await api.object('media', stored.key))).equals(file.data)).toBe(true);
      }
      expect(new Set(json.objects.map((object) => object.key)).size).toBe(3);
      // The original name survives a round trip through the stored metadata, non-ASCII included.
      const unicode = await api.object('media', json.objects[2]!.key, { method: 'HEAD' });
      expect(unicode.headers.get('content-disposition')).toContain(
        "filename*=UTF-8''caf%C3%A9-%C3%BCn%C3%AFcode.png",
      );
    });

    // 30: below the default per-caller limit of concurrent uploads (limits.uploadsPerPrincipal, 64).
    it('gives 30 concurrent uploads of the same filename 30 distinct keys', async () => {
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          api.upload('private', form({ name: 'same.txt', type: 'text/plain', data: text('same name') })),
        ),
      );
      expect(results.map((result) => result.status)).toEqual(Array(30).fill(201));
      const keys = new Set(results.map((result) => result.json.objects[0]?.key));
      expect(keys.size).toBe(30);
      expect(await stowage.backend('private').keys()).toEqual(expect.arrayContaining([...keys]));
    });

    it('streams a large file (several S3 parts) intact, leaving no unfinished write behind', async () => {
      const data = pdf(23 * 2 ** 20 + 12_345);
      const { status, json } = await api.upload(
        'private',
        form({ name: 'big.pdf', type: 'application/pdf', data }),
      );
      expect(status).toBe(201);
      const [stored] = json.objects;
      expect(stored?.size).toBe(data.length);
      expect(stored?.checksum.sha256).toBe(sha256(data));
      const read = await api.object('private', stored!.key);
      expect(read.headers.get('etag')).toBe(stored?.etag);
      expect(sha256(await bytesOf(read))).toBe(sha256(data));
      expect(await stowage.backend('private').leftovers()).toEqual([]);
    });

    it('stores HTML as an attachment so it cannot run in the browser, where plain text stays inline', async () => {
      const { status, json } = await api.upload(
        'files',
        form(
          { name: 'page.html', type: 'text/html', data: text('<script>alert(1)</script>') },
          { name: 'notes.txt', type: 'text/plain', data: text('just text') },
        ),
      );
      expect(status).toBe(201);
      const [html, plain] = json.objects;
      expect((await stowage.backend('files').object(html!.key)).contentDisposition).toMatch(/^attachment;/);
      expect((await stowage.backend('files').object(plain!.key)).contentDisposition).toMatch(/^inline;/);
    });
  });
