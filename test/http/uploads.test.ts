import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { form, pdf, png, sha256, text } from '../support/payloads.ts';
import { listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { useStowage } from '../support/stowage.ts';

const stowage = useStowage({
  buckets: ['media', 'private'],
  storages: (buckets) => ({
    media: {
      driver: 's3',
      bucket: buckets.media ?? '',
      prefix: 'uploads/',
      access: 'public',
      publicBaseUrl: 'https://cdn.example.test',
      allowedTypes: ['image/*'],
      cacheControl: 'public, max-age=31536000, immutable',
      maxFileSize: '1MiB',
      maxFiles: 3,
    },
    private: {
      driver: 's3',
      bucket: buckets.private ?? '',
      contentDisposition: 'attachment',
      maxFileSize: '40MiB',
      partSize: '5MiB',
      queueSize: 2,
    },
  }),
});

interface Stored {
  storage: string;
  key: string;
  size: number;
  contentType: string;
  etag: string;
  checksum: { sha256: string };
  originalName?: string;
  url?: string;
}

async function upload(
  storage: string,
  body: FormData,
): Promise<{ status: number; json: { objects: Stored[] } & { error?: { code: string } } }> {
  const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects`, { method: 'POST', body });
  return { status: response.status, json: (await response.json()) as never };
}

const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer());

describe('multipart uploads', () => {
  it('stores one file under a generated key and reads it back byte-identical', async () => {
    const data = pdf(150_000);
    const { status, json } = await upload(
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

    const viaStowage = await fetch(`${stowage.url}/v1/storages/private/objects/${stored?.key}`);
    expect(viaStowage.status).toBe(200);
    expect(viaStowage.headers.get('content-type')).toBe('application/pdf');
    expect(viaStowage.headers.get('etag')).toBe(stored?.etag);
    expect(viaStowage.headers.get('x-content-type-options')).toBe('nosniff');
    expect(viaStowage.headers.get('content-disposition')).toBe('attachment; filename="Quarterly report.pdf"');
    expect((await bytesOf(viaStowage)).equals(data)).toBe(true);

    const direct = await stowage.s3.send(
      new GetObjectCommand({ Bucket: stowage.buckets.private, Key: stored?.key }),
    );
    expect(Buffer.from(await direct.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('stores several files of one request, each with its own key, type and metadata on the S3 object', async () => {
    const files = [
      { name: 'a.png', type: 'image/png', data: png(5000) },
      { name: 'b.png', type: 'application/octet-stream', data: png(7000) },
      { name: 'café-ünïcode.png', type: 'image/png', data: png(100) },
    ];
    const { status, json } = await upload('media', form(...files));
    expect(status).toBe(201);
    expect(json.objects).toHaveLength(3);
    for (const [index, stored] of json.objects.entries()) {
      const file = files[index]!;
      expect(stored.contentType).toBe('image/png');
      expect(stored.size).toBe(file.data.length);
      expect(stored.originalName).toBe(file.name);
      expect(stored.url).toBe(`https://cdn.example.test/uploads/${stored.key}`);
      const head = await stowage.s3.send(
        new HeadObjectCommand({ Bucket: stowage.buckets.media, Key: `uploads/${stored.key}` }),
      );
      expect(head.ContentType).toBe('image/png');
      expect(head.CacheControl).toBe('public, max-age=31536000, immutable');
      expect(head.ContentDisposition).toMatch(/^inline; filename=/);
      const back = await fetch(`${stowage.url}/v1/storages/media/objects/${stored.key}`);
      expect((await bytesOf(back)).equals(file.data)).toBe(true);
    }
    expect(new Set(json.objects.map((object) => object.key)).size).toBe(3);
    // The original name survives a round trip through S3 metadata, non-ASCII included.
    const unicode = await fetch(`${stowage.url}/v1/storages/media/objects/${json.objects[2]?.key}`);
    expect(unicode.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''caf%C3%A9-%C3%BCn%C3%AFcode.png",
    );
  });

  it('gives 50 concurrent uploads of the same filename 50 distinct keys', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        upload('private', form({ name: 'same.txt', type: 'text/plain', data: text('same name') })),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(Array(50).fill(201));
    const keys = new Set(results.map((result) => result.json.objects[0]?.key));
    expect(keys.size).toBe(50);
    const inBucket = await listAllKeys(stowage.buckets.private!);
    for (const key of keys) expect(inBucket).toContain(key);
  });

  it('streams a multipart-sized file (several S3 parts) intact, with no multipart upload left over', async () => {
    const data = pdf(23 * 2 ** 20 + 12_345);
    const { status, json } = await upload(
      'private',
      form({ name: 'big.pdf', type: 'application/pdf', data }),
    );
    expect(status).toBe(201);
    const [stored] = json.objects;
    expect(stored?.size).toBe(data.length);
    expect(stored?.checksum.sha256).toBe(sha256(data));
    const back = await fetch(`${stowage.url}/v1/storages/private/objects/${stored?.key}`);
    expect(back.headers.get('etag')).toBe(stored?.etag);
    expect(sha256(await bytesOf(back))).toBe(sha256(data));
    expect(await listMultipartUploads(stowage.buckets.private!)).toEqual([]);
  });

  it('stores HTML as an attachment so it cannot run in the browser', async () => {
    const { status, json } = await upload(
      'private',
      form({ name: 'page.html', type: 'text/html', data: text('<script>alert(1)</script>') }),
    );
    expect(status).toBe(201);
    const head = await stowage.s3.send(
      new HeadObjectCommand({ Bucket: stowage.buckets.private, Key: json.objects[0]?.key }),
    );
    expect(head.ContentDisposition).toMatch(/^attachment;/);
  });
});
