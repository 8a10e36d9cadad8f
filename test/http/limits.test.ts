import { describe, expect, it } from 'vitest';
import { form, pdf, png, text } from '../support/payloads.ts';
import { listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Refused uploads: the right status and code, and nothing left behind — no object, no multipart
 * upload — asked of S3 itself, not of Stowage.
 */
const stowage = useStowage({
  buckets: ['images', 'docs'],
  storages: (buckets) => ({
    images: {
      driver: 's3',
      bucket: buckets.images ?? '',
      allowedTypes: ['image/*'],
      maxFileSize: '64KiB',
      maxFiles: 2,
    },
    // Large enough to go multipart before the limit is hit: 5 MiB parts, 12 MiB limit.
    docs: {
      driver: 's3',
      bucket: buckets.docs ?? '',
      allowedTypes: ['application/pdf', 'text/*'],
      maxFileSize: '12MiB',
      partSize: '5MiB',
    },
  }),
});

async function post(storage: string, body: FormData | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects`, {
    method: 'POST',
    body,
    headers,
  });
  return {
    status: response.status,
    json: (await response.json()) as { error?: { code: string; message: string } },
  };
}

async function expectNothingStored(label: 'images' | 'docs') {
  expect(await listAllKeys(stowage.buckets[label]!)).toEqual([]);
  expect(await listMultipartUploads(stowage.buckets[label]!)).toEqual([]);
}

describe('upload limits', () => {
  it('413 for a file one byte over the limit, nothing stored', async () => {
    const result = await post(
      'images',
      form({ name: 'big.png', type: 'image/png', data: png(64 * 1024 + 1) }),
    );
    expect(result.status).toBe(413);
    expect(result.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
    await expectNothingStored('images');
  });

  it('accepts a file of exactly the limit', async () => {
    const result = await post('images', form({ name: 'edge.png', type: 'image/png', data: png(64 * 1024) }));
    expect(result.status).toBe(201);
    const { objects } = result.json as unknown as { objects: Array<{ key: string }> };
    await fetch(`${stowage.url}/v1/storages/images/objects/${objects[0]?.key}`, { method: 'DELETE' });
  });

  it('413 for a file that exceeds the limit after several S3 parts were sent: the multipart upload is aborted', async () => {
    const result = await post(
      'docs',
      form({ name: 'huge.pdf', type: 'application/pdf', data: pdf(13 * 2 ** 20) }),
    );
    expect(result.status).toBe(413);
    expect(result.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
    await expectNothingStored('docs');
  });

  it('415 for a declared type outside the allowlist', async () => {
    const result = await post('images', form({ name: 'notes.txt', type: 'text/plain', data: text('hello') }));
    expect(result.status).toBe(415);
    expect(result.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored('images');
  });

  it('415 when the bytes contradict the declared type (HTML posing as PNG)', async () => {
    const result = await post(
      'images',
      form({ name: 'x.png', type: 'image/png', data: text('<html><script>alert(1)</script></html>') }),
    );
    expect(result.status).toBe(415);
    expect(result.json.error?.code).toBe('CONTENT_TYPE_MISMATCH');
    await expectNothingStored('images');
  });

  it('415 when the bytes are a type the storage refuses, whatever was declared (PNG declared as PDF)', async () => {
    const result = await post('docs', form({ name: 'x.pdf', type: 'application/pdf', data: png(3000) }));
    expect(result.status).toBe(415);
    await expectNothingStored('docs');
  });

  it('413 TOO_MANY_FILES past maxFiles, and the files already stored by that request are removed again', async () => {
    const files = [1, 2, 3].map((n) => ({ name: `${n}.png`, type: 'image/png', data: png(1000) }));
    const result = await post('images', form(...files));
    expect(result.status).toBe(413);
    expect(result.json.error?.code).toBe('TOO_MANY_FILES');
    await expectNothingStored('images');
  });

  it('a refused second file undoes the first (all or nothing)', async () => {
    const result = await post(
      'images',
      form(
        { name: 'ok.png', type: 'image/png', data: png(1000) },
        { name: 'bad.txt', type: 'text/plain', data: text('no') },
      ),
    );
    expect(result.status).toBe(415);
    await expectNothingStored('images');
  });

  it('400 NO_FILES for a form without file parts', async () => {
    const body = new FormData();
    body.append('title', 'no file here');
    const result = await post('images', body);
    expect(result.status).toBe(400);
    expect(result.json.error?.code).toBe('NO_FILES');
  });

  it('415 for a body that is not multipart', async () => {
    const result = await post('images', JSON.stringify({ a: 1 }), { 'content-type': 'application/json' });
    expect(result.status).toBe(415);
    expect(result.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('400 for a malformed multipart body, nothing stored', async () => {
    const body =
      '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG...';
    const result = await post('images', body, { 'content-type': 'multipart/form-data; boundary=XYZ' });
    expect(result.status).toBe(400);
    expect(result.json.error?.code).toBe('INVALID_MULTIPART');
    await expectNothingStored('images');
  });

  it('404 STORAGE_NOT_FOUND for an unknown storage', async () => {
    const result = await post('nope', form({ name: 'a.png', type: 'image/png', data: png(100) }));
    expect(result.status).toBe(404);
    expect(result.json.error?.code).toBe('STORAGE_NOT_FOUND');
  });
});
