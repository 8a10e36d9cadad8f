import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { DeleteBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.ts';
import { bucketCors } from '../../src/cli/bucket-settings.ts';
import { DIRECT_STAGING_PREFIX } from '../../src/storage/keys.ts';
import { chromiumFlags, ensureChromium } from '../support/debian-packages.ts';
import { events, eventWhere, makeFile } from '../support/demo-page.ts';
import { pdf, png, sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Uppy's AWS S3 plugin (6.x, `signRequest` mode) in headless Chromium: its whole signer is one fetch
 * to `direct/sign`, its S3 client sends the bytes straight to Ceph (bucket CORS as `bucket-cors`
 * prints it), and `upload-success` calls `direct/finalize`. A small file goes as one PutObject, a
 * 12 MiB one as a multipart upload of 5 MiB parts; both read back byte-identical. Then the demo
 * page (demo/) as a user drives it with its uploader switched to AWS S3: a small file and a 64 MiB
 * one (multipart) made in the page, finalized by the page, read back byte-identical from the bucket;
 * and its browser form (presigned POST policy, no Uppy): a small file stored, one whose bytes lie
 * about their type refused at finalize.
 */
const MiB = 2 ** 20;
const TOKEN = 'direct-uppy-test-key-0123456789abcdef';
const sha = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex')}`;
const stowage = useStowage({
  buckets: ['media', 'files'],
  storages: (buckets) => ({
    media: {
      driver: 's3',
      bucket: buckets.media ?? '',
      maxFileSize: '16MiB',
      allowedTypes: ['image/png', 'application/pdf'],
    },
    files: { driver: 's3', bucket: buckets.files ?? '', maxFileSize: '64MiB' },
  }),
  config: {
    resumable: { secret: 'a-direct-upload-secret-of-at-least-32-chars' },
    auth: {
      apiKeys: [{ name: 'frontend', hash: sha(TOKEN), grants: ['media:*', 'files:*'] }],
      cors: { origins: ['http://127.0.0.1:*'] },
    },
  },
});

const small = png(20 * 1024);
const large = pdf(12 * MiB);

/** The frontend: the Uppy bundle, the two files, and a page that uploads them. */
function frontend(bundle: Buffer): Promise<{ server: Server; origin: string }> {
  const page = `<!doctype html><script src="/uppy.min.js"></script><script>
    window.results = [];
    window.upload = async (stowage, token) => {
      const uppy = new Uppy.Uppy({ autoProceed: false });
      uppy.use(Uppy.AwsS3, {
        shouldUseMultipart: (file) => file.size > 10 * 1024 * 1024,
        getChunkSize: () => 5 * 1024 * 1024,
        signRequest: async (request) => {
          signed.push([request.method, request.uploadId === undefined ? null : 'uploadId', request.partNumber ?? null]);
          const answer = await fetch(stowage + '/v1/storages/media/direct/sign', {
            method: 'POST',
            headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
            body: JSON.stringify(request),
          });
          if (!answer.ok) throw new Error('sign: ' + answer.status + ' ' + (await answer.text()));
          return answer.json();
        },
      });
      const finalized = [];
      const signed = [];
      uppy.on('upload-success', (file, response) => {
        finalized.push(fetch(stowage + '/v1/storages/media/direct/finalize', {
          method: 'POST',
          headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
          body: JSON.stringify({ key: response.body.key }),
        }).then(async (answer) => ({ name: file.name, status: answer.status, body: await answer.json() })));
      });
      const errors = [];
      uppy.on('upload-error', (file, error) => errors.push(file.name + ': ' + error.message));
      for (const [name, type] of [['small.png', 'image/png'], ['large.pdf', 'application/pdf']]) {
        const data = await (await fetch('/' + name)).blob();
        uppy.addFile({ name, type, data });
      }
      await uppy.upload();
      return { errors, signed, finalized: await Promise.all(finalized) };
    };
  </script>`;
  const files: Record<string, [string, Buffer]> = {
    '/': ['text/html; charset=utf-8', Buffer.from(page)],
    '/uppy.min.js': ['text/javascript', bundle],
    '/small.png': ['image/png', small],
    '/large.pdf': ['application/pdf', large],
  };
  const server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (!file) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    }),
  );
}

describe('Uppy AwsS3 (signRequest) in headless Chromium, straight to Ceph', () => {
  let browser: Browser;
  let page: Page;
  let server: Server;
  let demo: RunningDemo;
  let origin = '';

  beforeAll(async () => {
    const site = await frontend(await readFile('node_modules/uppy/dist/uppy.min.js'));
    ({ server, origin } = site);
    demo = await startDemo({ host: '127.0.0.1', port: 0, stowageUrl: stowage.url });
    // As `bucket-cors` prints it for the two frontends' origins.
    const CORSConfiguration = bucketCors([origin, new URL(demo.url).origin], 60);
    for (const Bucket of [stowage.buckets.media ?? '', stowage.buckets.files ?? ''])
      await stowage.s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration }));
    browser = await chromium.launch({ executablePath: await ensureChromium(), args: chromiumFlags });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await demo?.close();
    for (const Bucket of [stowage.buckets.media ?? '', stowage.buckets.files ?? ''])
      await stowage.s3.send(new DeleteBucketCorsCommand({ Bucket }));
  });

  it('uploads a small file (PutObject) and a 12 MiB one (multipart), finalized from upload-success', async () => {
    await page.goto(`${origin}/`);
    const outcome = (await page.evaluate(
      ([url, token]) =>
        (globalThis as unknown as { upload: (u: string, t: string) => Promise<unknown> }).upload(url, token),
      [stowage.url, TOKEN] as const,
    )) as {
      errors: string[];
      signed: Array<[string, string | null, number | null]>;
      finalized: Array<{
        name: string;
        status: number;
        body: { objects: Array<{ key: string; size: number; contentType: string; originalName: string }> };
      }>;
    };
    expect(outcome.errors).toEqual([]);
    // One PutObject for the small file; create, three parts, complete for the large one.
    expect(outcome.signed.sort()).toEqual(
      [
        ['PUT', null, null],
        ['POST', null, null],
        ['PUT', 'uploadId', 1],
        ['PUT', 'uploadId', 2],
        ['PUT', 'uploadId', 3],
        ['POST', 'uploadId', null],
      ].sort(),
    );
    const byName = Object.fromEntries(outcome.finalized.map((one) => [one.name, one]));
    for (const [name, data, type] of [
      ['small.png', small, 'image/png'],
      ['large.pdf', large, 'application/pdf'],
    ] as const) {
      const done = byName[name];
      expect(done?.status, JSON.stringify(done?.body)).toBe(201);
      const [object] = done?.body.objects ?? [];
      expect(object).toMatchObject({ size: data.length, contentType: type, originalName: name });
      const stored = await stowage.backend('media').object(object?.key ?? '');
      expect(sha256(stored.body)).toBe(sha256(data));
    }
    expect(await stowage.backend('media').keys(DIRECT_STAGING_PREFIX)).toEqual([]);
    expect(await stowage.backend('media').leftovers()).toEqual([]);
  });

  /** The demo page on `storage` with the test's API key, once it has listed the storages. */
  async function openDemo(storage: string): Promise<{ page: Page; thrown: string[] }> {
    const opened = await browser.newPage();
    const thrown: string[] = [];
    opened.on('pageerror', (error) => thrown.push(error.message));
    await opened.goto(`${demo.url}?storage=${storage}&token=${TOKEN}`);
    await opened.evaluate('demo.ready');
    return { page: opened, thrown };
  }

  it('the demo page, switched to AWS S3: a small file and a 64 MiB one (multipart), finalized by the page, bytes identical', async () => {
    const { page: demoPage, thrown } = await openDemo('files');
    // The switch a user flips: the Dashboard then uploads with Uppy's AWS S3 plugin.
    await demoPage.locator('#uploader').selectOption('s3');
    const uploads = [
      { name: 'small.png', type: 'image/png', size: 20 * 1024, head: png(0).toString('latin1') },
      { name: 'large.bin', type: 'application/octet-stream', size: 64 * MiB },
    ];
    for (const spec of uploads) {
      const sha = await makeFile(demoPage, spec);
      await demoPage.evaluate('demo.uppyUpload(window.file)');
      const name = JSON.stringify(spec.name);
      const stored = await eventWhere(
        demoPage,
        `(e.type === 'stored' && e.object.originalName === ${name}) || (e.type === 'error' && e.name === ${name})`,
      );
      expect(stored.type, JSON.stringify(stored)).toBe('stored');
      expect(stored.object).toMatchObject({ storage: 'files', size: spec.size, originalName: spec.name });
      expect(stored.object?.key.startsWith(DIRECT_STAGING_PREFIX), 'a promoted key, not the staged one').toBe(
        false,
      );
      expect(sha256((await stowage.backend('files').object(stored.object?.key ?? '')).body)).toBe(sha);
      // Listed with a link that serves it, and the receipt the page shows, which Stowage vouches for.
      const verified = await fetch(`${stowage.url}/v1/receipts/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ receipt: stored.object?.receipt }),
      });
      expect(await verified.json()).toMatchObject({ valid: true, key: stored.object?.key, size: spec.size });
      const served = await fetch(stored.link ?? '');
      expect(served.status).toBe(200);
      expect(
        createHash('sha256')
          .update(Buffer.from(await served.arrayBuffer()))
          .digest('hex'),
      ).toBe(sha);
      await demoPage.evaluate('demo.uppy.clear()');
    }
    const seen = await events(demoPage);
    expect(seen.filter((e) => e.type === 'error')).toEqual([]);
    // Every byte went to S3: no tus request; the small file one PutObject, the 64 MiB one 13 parts of 5 MiB.
    expect(seen.filter((e) => e.type === 'request')).toEqual([]);
    const signed = seen.filter((e) => e.type === 'sign');
    expect(signed.filter((e) => e.partNumber === undefined).map((e) => e.method)).toEqual([
      'PUT',
      'POST',
      'POST',
    ]);
    const parts = signed.flatMap((e) => (e.partNumber === undefined ? [] : [e.partNumber]));
    expect(parts.sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(await demoPage.locator('#objects .receipt').count()).toBe(2);
    expect(thrown).toEqual([]);
    expect(await stowage.backend('files').keys(DIRECT_STAGING_PREFIX)).toEqual([]);
    expect(await stowage.backend('files').leftovers()).toEqual([]);
    await demoPage.close();
  });

  it('the demo page’s browser form (POST policy): a small file straight to Ceph and finalized; lying bytes refused (415), nothing kept', async () => {
    const { page: demoPage, thrown } = await openDemo('media');
    const before = await stowage.backend('media').keys();
    const sha = await makeFile(demoPage, {
      name: 'scan.png',
      type: 'image/png',
      size: 20 * 1024,
      head: png(0).toString('latin1'),
    });
    await demoPage.evaluate('demo.formUpload(window.file)');
    const stored = await eventWhere(demoPage, `e.type === 'stored' || e.type === 'error'`);
    expect(stored.type, JSON.stringify(stored)).toBe('stored');
    expect(stored).toMatchObject({ client: 'form' });
    expect(stored.object).toMatchObject({ storage: 'media', size: 20 * 1024, originalName: 'scan.png' });
    expect(sha256((await stowage.backend('media').object(stored.object?.key ?? '')).body)).toBe(sha);
    // One sign: the POST policy (no multipart, no PutObject); S3 answered the form 204.
    const seen = await events(demoPage);
    expect(seen.filter((e) => e.type === 'sign').map((e) => e.method)).toEqual(['POST']);
    expect(seen.find((e) => e.type === 'response' && e.client === 'form')?.status).toBe(204);

    // HTML that says it is a PNG: S3 takes the form (its policy pins only key, size and type), finalize refuses it.
    await makeFile(demoPage, { name: 'fake.png', type: 'image/png', size: 2048, head: '<html><script>' });
    await demoPage.evaluate('demo.formUpload(window.file)');
    const refused = await eventWhere(demoPage, `e.type === 'error' && e.name === 'fake.png'`);
    expect(refused).toMatchObject({ client: 'form', status: 415, code: 'CONTENT_TYPE_MISMATCH' });
    expect(await stowage.backend('media').keys(DIRECT_STAGING_PREFIX)).toEqual([]);
    expect(await stowage.backend('media').keys()).toEqual([...before, stored.object?.key ?? ''].sort());
    expect(thrown).toEqual([]);
    await demoPage.close();
  });
});
