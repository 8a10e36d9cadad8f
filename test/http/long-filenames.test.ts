import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { type CompatProxy, startCompatProxy } from '../support/compat-proxy.ts';
import { form, pdf } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Filenames whose encoding exceeds what an S3 server takes as a metadata value (Swift: 256 bytes, 29
 * CJK characters), through a proxy in front of the real S3 server that refuses longer values as Swift
 * does: stored, with the whole name in Content-Disposition and a bounded one in the metadata.
 */
let proxy: CompatProxy | undefined;
beforeAll(async () => {
  proxy = await startCompatProxy(inject('s3'), 'pass', { metadataValueLimit: 256 });
});
afterAll(async () => {
  await proxy?.close();
});

const stowage = useStowage({
  buckets: ['names'],
  storages: (buckets) => ({
    names: {
      driver: 's3',
      bucket: buckets.names ?? '',
      partSize: '5MiB',
      s3: { endpoint: proxy?.url ?? '' },
    },
  }),
});
const api = stowageApi(stowage);

/** The filename a Content-Disposition header carries in its RFC 5987 `filename*`. */
const dispositionName = (header: string | null) =>
  decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(header ?? '')?.[1] ?? '');

const storedMetadataName = async (key: string) => {
  const head = await stowage.s3.send(new HeadObjectCommand({ Bucket: stowage.buckets.names, Key: key }));
  return head.Metadata?.['original-name'] ?? '';
};

describe('long non-ASCII filenames', () => {
  // 100 CJK characters: 300 UTF-8 bytes, 900 bytes percent-encoded.
  const name = `${'報告書'.repeat(33)}書.pdf`;

  it.each([
    ['a one-part upload', 1000],
    ['a multipart upload', 6 * 2 ** 20],
  ])(
    '%s is stored, the whole name in Content-Disposition, a bounded one in the metadata',
    async (_, size) => {
      const upload = await api.upload('names', form({ name, type: 'application/pdf', data: pdf(size) }));
      expect(upload.status, JSON.stringify(upload.json)).toBe(201);
      const [stored] = upload.json.objects;
      expect(stored?.originalName).toBe(name);
      const key = stored?.key ?? '';
      const read = await api.object('names', key, { method: 'HEAD' });
      expect(read.status).toBe(200);
      expect(dispositionName(read.headers.get('content-disposition'))).toBe(name);
      const metadata = await storedMetadataName(key);
      expect(metadata.length).toBeLessThanOrEqual(256);
      expect(name.startsWith(decodeURIComponent(metadata))).toBe(true);
      expect((await api.object('names', key, { method: 'DELETE' })).status).toBe(204);
    },
  );

  it('a raw PUT with that name in its Content-Disposition is stored too', async () => {
    const put = await api.put('names', 'raw.pdf', pdf(1000), {
      'content-type': 'application/pdf',
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    expect(put.json.originalName).toBe(name);
    expect((await api.object('names', 'raw.pdf', { method: 'DELETE' })).status).toBe(204);
    expect(await stowage.backend('names').keys()).toEqual([]);
  });
});
