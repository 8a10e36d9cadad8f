import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { contents } from '../support/backend.ts';
import { type FilePart, form, pdf, png, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Refused uploads: the right status and code, and nothing left behind — no object, no unfinished
 * write (S3 multipart upload, local temp file) — asked of the backend itself, not of Stowage.
 */
type Storage = 'images' | 'docs';

/** Uploads refused with this status and code; made on demand (some are megabytes). */
const REFUSALS: Array<{
  title: string;
  storage: Storage;
  files: () => FilePart[];
  status: number;
  code: string;
  /** What the error must say besides its code (`details`, message). */
  says?: { message?: RegExp; details?: Record<string, unknown> };
}> = [
  {
    title: '413 for a file one byte over the limit',
    storage: 'images',
    files: () => [{ name: 'big.png', type: 'image/png', data: png(64 * 1024 + 1) }],
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    says: { details: { maxFileSize: 64 * 1024, file: { field: 'file', index: 0, filename: 'big.png' } } },
  },
  {
    title: '413 for a file that exceeds the limit only after megabytes were written (several S3 parts)',
    storage: 'docs',
    files: () => [{ name: 'huge.pdf', type: 'application/pdf', data: pdf(13 * 2 ** 20) }],
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    title: '415 for a declared type outside the allowlist',
    storage: 'images',
    files: () => [{ name: 'notes.txt', type: 'text/plain', data: text('hello') }],
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    title: '415 when the bytes contradict the declared type (HTML posing as PNG)',
    storage: 'images',
    files: () => [{ name: 'x.png', type: 'image/png', data: text('<html><script>alert(1)</script></html>') }],
    status: 415,
    code: 'CONTENT_TYPE_MISMATCH',
  },
  {
    title: '415 when the bytes are a type the storage refuses, whatever was declared (PNG declared as PDF)',
    storage: 'docs',
    files: () => [{ name: 'x.pdf', type: 'application/pdf', data: png(3000) }],
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    title: '413 TOO_MANY_FILES past maxFiles: the files that request already stored are removed again',
    storage: 'images',
    files: () => [1, 2, 3].map((n) => ({ name: `${n}.png`, type: 'image/png', data: png(1000) })),
    status: 413,
    code: 'TOO_MANY_FILES',
    says: { message: /at most 2 files per request/, details: { maxFiles: 2 } },
  },
  {
    title: 'a refused second file undoes the first (all or nothing)',
    storage: 'images',
    files: () => [
      { field: 'photo', name: 'ok.png', type: 'image/png', data: png(1000) },
      { field: 'notes', name: 'bad.txt', type: 'text/plain', data: text('no') },
    ],
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    // The refused file is named: its field, its position among the files, its filename.
    says: { details: { file: { field: 'notes', index: 1, filename: 'bad.txt' } } },
  },
];

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, {
        images: { allowedTypes: ['image/*'], maxFileSize: '64KiB', maxFiles: 2 },
        // Large enough to go multipart on S3 before the limit is hit: 5 MiB parts, 12 MiB limit.
        docs: { allowedTypes: ['application/pdf', 'text/*'], maxFileSize: '12MiB', partSize: '5MiB' },
      }),
    );
    const api = stowageApi(stowage);

    async function expectNothingStored(storage: Storage) {
      expect(await contents(stowage.backend(storage))).toEqual({ keys: [], leftovers: [] });
    }

    for (const { title, storage, files, status, code, says } of REFUSALS)
      it(`${title}, nothing left behind`, async () => {
        const result = await api.upload(storage, form(...files()));
        expect(result.status).toBe(status);
        expect(result.json.error?.code).toBe(code);
        if (says?.message) expect(result.json.error?.message).toMatch(says.message);
        if (says?.details) expect(result.json.error?.details).toMatchObject(says.details);
        await expectNothingStored(storage);
      });

    it('accepts a file of exactly the limit', async () => {
      const data = png(64 * 1024);
      const result = await api.upload('images', form({ name: 'edge.png', type: 'image/png', data }));
      expect(result.status).toBe(201);
      const [stored] = result.json.objects;
      expect(await stowage.backend('images').keys()).toEqual([stored?.key]);
      await api.object('images', stored!.key, { method: 'DELETE' });
      await expectNothingStored('images');
    });

    it('400 NO_FILES for a form without file parts', async () => {
      const body = new FormData();
      body.append('title', 'no file here');
      const result = await api.upload('images', body);
      expect(result.status).toBe(400);
      expect(result.json.error?.code).toBe('NO_FILES');
    });

    it('415 for a body that is not multipart', async () => {
      const result = await api.upload('images', JSON.stringify({ a: 1 }), {
        'content-type': 'application/json',
      });
      expect(result.status).toBe(415);
      expect(result.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('400 for a malformed multipart body, nothing stored', async () => {
      const body =
        '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG...';
      const result = await api.upload('images', body, {
        'content-type': 'multipart/form-data; boundary=XYZ',
      });
      expect(result.status).toBe(400);
      expect(result.json.error?.code).toBe('INVALID_MULTIPART');
      await expectNothingStored('images');
    });

    it('404 STORAGE_NOT_FOUND for an unknown storage', async () => {
      const result = await api.upload('nope', form({ name: 'a.png', type: 'image/png', data: png(100) }));
      expect(result.status).toBe(404);
      expect(result.json.error?.code).toBe('STORAGE_NOT_FOUND');
    });
  });
