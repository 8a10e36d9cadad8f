import { SignJWT } from 'jose';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.ts';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { STATE_PREFIX } from '../../src/storage/drivers/s3/resumable.ts';
import { contents } from '../support/backend.ts';
import { chromiumFlags, ensureChromium } from '../support/debian-packages.ts';
import { events, eventWhere, makeFile } from '../support/demo-page.ts';
import { sha256 } from '../support/payloads.ts';
import { cutPatchAfter, stallAtPatch } from '../support/proxy-triggers.ts';
import { useStowage } from '../support/stowage.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/**
 * The demo page (demo/) in headless Chromium, as a user drives it: Uppy's Dashboard with its Tus
 * plugin and the plain tus-js-client button, unchanged, against Stowage on S3 with the embedded
 * default's open access and CORS — the page is on its own origin, so every request is a real
 * cross-origin one. The browser reaches Stowage through a TCP proxy (test/support/tcp-proxy.ts) that
 * cuts or stalls its connections mid-PATCH. File bytes are made in the page; nothing is written to
 * disk. The page records what happens in `window.demo.events`. A second service, with JWTs and CORS
 * configured, takes the page's `?token=` as a frontend with signed-in users would.
 */
const MiB = 2 ** 20;
const stowage = useStowage({
  buckets: ['files', 'images'],
  storages: (buckets) => ({
    files: { driver: 's3', bucket: buckets.files ?? '', partSize: '5MiB', maxFileSize: '64MiB' },
    images: {
      driver: 's3',
      bucket: buckets.images ?? '',
      partSize: '5MiB',
      maxFileSize: '64MiB',
      allowedTypes: ['image/png'],
    },
  }),
  // As `npm start` runs it: the demo must work with the quick start's config as it is.
  config: { auth: embeddedDefaultConfig.auth },
});

// A service with end users, as a frontend's backend would run it: JWTs, and CORS for the page's origin.
const JWT = {
  secret: 'tus-chromium-secret-tus-chromium-secret-0123',
  issuer: 'https://idp.test/',
  audience: 'stowage',
};
const secured = useStowage({
  buckets: ['mine'],
  storages: (buckets) => ({
    mine: { driver: 's3', bucket: buckets.mine ?? '', partSize: '5MiB', ownerPrefix: 'users/{sub}/' },
  }),
  config: { auth: { jwt: JWT, cors: { origins: ['http://127.0.0.1:*'] } } },
});
const userToken = (sub: string) =>
  new SignJWT({ scope: 'mine:write mine:sign' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(JWT.issuer)
    .setAudience(JWT.audience)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT.secret));

let browser: Browser;
let proxy: TcpProxy;
let demo: RunningDemo;
let context: BrowserContext | undefined;
let pageErrors: string[] = [];

beforeAll(async () => {
  const { port } = new URL(stowage.url);
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(port) });
  demo = await startDemo({ host: '127.0.0.1', port: 0, stowageUrl: proxy.url });
  browser = await chromium.launch({ executablePath: await ensureChromium(), args: chromiumFlags });
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
  await proxy?.close();
});

afterEach(async () => {
  await context?.close();
  context = undefined;
  await proxy.setMode('pass');
  expect(pageErrors, 'errors thrown in the page').toEqual([]);
});

/** The demo page in a fresh browser profile (its own localStorage), once it has listed the storages. */
async function openDemo(query: string): Promise<Page> {
  context ??= await browser.newContext();
  pageErrors = [];
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${demo.url}${query}`);
  await page.evaluate('demo.ready');
  // The service it calls: the demo server's STOWAGE_URL (the proxy here), unless the URL says otherwise.
  const target = new URLSearchParams(query).get('stowage') ?? proxy.url;
  expect(await page.locator('#target').textContent()).toBe(target);
  return page;
}

/** The stored object's bytes, read from the bucket itself. */
const storedSha = async (storage: string, key: string) =>
  sha256((await stowage.backend(storage).object(key)).body);

describe('the demo page in headless Chromium', () => {
  it('Uppy: 50 MiB in one PATCH, the network cut mid-PATCH, resumed from the offset S3 holds, bytes identical', async () => {
    const page = await openDemo('?storage=files');
    const sha = await makeFile(page, { name: 'big.bin', type: 'application/octet-stream', size: 50 * MiB });
    const cut = cutPatchAfter(proxy, 30 * MiB);
    await page.evaluate('demo.uppyUpload(window.file)');
    const sentBeforeCut = await cut;
    const stored = await eventWhere(page, `e.type === 'stored' && e.client === 'uppy'`);
    const seen = await events(page);
    const requests = seen.filter((e) => e.type === 'request');
    // One upload, created once; after the cut the client asked where it stood and went on from there.
    expect(requests.filter((e) => e.method === 'POST')).toHaveLength(1);
    const patches = requests.filter((e) => e.method === 'PATCH');
    expect(patches[0]?.offset).toBe(0);
    const resumedAt = patches.at(-1)?.offset ?? 0;
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(sentBeforeCut);
    const heads = seen.filter((e) => e.type === 'response' && e.method === 'HEAD');
    expect(heads.at(-1)).toMatchObject({ status: 200, offset: resumedAt });
    expect(stored.object).toMatchObject({ size: 50 * MiB, originalName: 'big.bin' });
    const key = stored.object?.key ?? '';
    expect(await storedSha('files', key)).toBe(sha);
    // Nothing left but the object: no multipart upload, no resumable state.
    expect(await contents(stowage.backend('files'))).toEqual({ keys: [key], leftovers: [] });
    expect(await page.locator('#objects').textContent()).toContain('big.bin');
  });

  it('tus-js-client: pause mid-PATCH, resume: it continues from the offset, bytes identical', async () => {
    const page = await openDemo(`?storage=files&chunkSize=${2 * MiB}`);
    const sha = await makeFile(page, { name: 'paused.bin', type: 'application/octet-stream', size: 9 * MiB });
    const stalled = stallAtPatch(proxy, 4 * MiB);
    await page.evaluate('demo.tusStart(window.file)');
    await stalled;
    await page.evaluate('demo.tusPause()');
    await proxy.setMode('pass');
    const before = (await events(page)).length;
    await page.evaluate('demo.tusResume()');
    const stored = await eventWhere(page, `e.type === 'stored' && e.client === 'tus'`);
    const after = (await events(page)).slice(before).filter((e) => e.type === 'request');
    // start() again: a HEAD for the offset, then PATCHes from the two chunks the server has.
    expect(after[0]?.method).toBe('HEAD');
    expect(after.find((e) => e.method === 'PATCH')?.offset).toBe(4 * MiB);
    expect(after.some((e) => e.method === 'POST')).toBe(false);
    expect(await storedSha('files', stored.object?.key ?? '')).toBe(sha);
  });

  it('tus-js-client: after a page reload, the new page finds the upload by its fingerprint and continues from the offset', async () => {
    const query = `?storage=files&chunkSize=${2 * MiB}`;
    // The same seed makes the same bytes, name and lastModified on both pages: the same fingerprint.
    const spec = { name: 'reloaded.bin', type: 'application/octet-stream', size: 9 * MiB, seed: 14 };
    const first = await openDemo(query);
    await makeFile(first, spec);
    const stalled = stallAtPatch(proxy, 4 * MiB);
    await first.evaluate('demo.tusStart(window.file)');
    await stalled;
    const uploadUrl = (await events(first)).find((e) => e.method === 'PATCH')?.url;
    expect(uploadUrl).toMatch(/\/v1\/storages\/files\/uploads\/u1\./);
    // The reload drops the stalled PATCH; the page's own requests pass again.
    await first.reload();
    await proxy.setMode('pass');
    await first.evaluate('demo.ready');
    expect(
      (await events(first)).some((e) => e.type === 'started'),
      'a fresh page',
    ).toBe(false);
    const sha = await makeFile(first, spec);
    await first.evaluate('demo.tusStart(window.file)');
    const stored = await eventWhere(first, `e.type === 'stored' && e.client === 'tus'`);
    const seen = await events(first);
    expect(seen.find((e) => e.type === 'resuming')?.url).toBe(uploadUrl);
    const requests = seen.filter((e) => e.type === 'request');
    expect(requests.some((e) => e.method === 'POST')).toBe(false);
    expect(requests.find((e) => e.method === 'PATCH')).toMatchObject({ url: uploadUrl, offset: 4 * MiB });
    expect(await storedSha('files', stored.object?.key ?? '')).toBe(sha);
  });

  it('Uppy: a non-ASCII filename arrives intact in the stored metadata and on the page', async () => {
    const name = 'Résumé – 日本.pdf';
    // Straight to Stowage, not through the proxy: the page's ?stowage= names the service.
    const page = await openDemo(`?storage=files&stowage=${encodeURIComponent(stowage.url)}`);
    await makeFile(page, { name, type: 'application/pdf', size: MiB, head: '%PDF-1.7\n' });
    await page.evaluate('demo.uppyUpload(window.file)');
    const stored = await eventWhere(page, `e.type === 'stored' && e.client === 'uppy'`);
    // The receipt is read back from S3's metadata (HeadObject), not echoed from the request.
    expect(stored.object).toMatchObject({ originalName: name, contentType: 'application/pdf' });
    const object = await stowage.backend('files').object(stored.object?.key ?? '');
    expect(object.contentDisposition).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);
    // The page's link to it (a private storage: a presigned URL) serves it under that name.
    const linked = await fetch(stored.link ?? '');
    expect(linked.status).toBe(200);
    expect(linked.headers.get('content-disposition')).toContain(encodeURIComponent(name));
    expect(await page.locator('#objects').textContent()).toContain(name);
  });

  it('Uppy: HTML named .png to a PNG-only storage: 415, the upload terminated, nothing stored, the page says so', async () => {
    const page = await openDemo('?storage=images');
    const head = '<!doctype html><script>alert(document.domain)</script>';
    await makeFile(page, { name: 'holiday.png', type: 'image/png', size: 64 * 1024, head });
    await page.evaluate('demo.uppyUpload(window.file)');
    const error = await eventWhere(page, `e.type === 'error' && e.client === 'uppy'`);
    expect(error).toMatchObject({ name: 'holiday.png', status: 415, code: 'CONTENT_TYPE_MISMATCH' });
    const seen = await events(page);
    // Refused, not retried: one PATCH, and nothing stored.
    expect(seen.filter((e) => e.type === 'request' && e.method === 'PATCH')).toHaveLength(1);
    expect(seen.some((e) => e.type === 'stored')).toBe(false);
    const uploadUrl = seen.find((e) => e.method === 'PATCH')?.url ?? '';
    const afterwards = await fetch(uploadUrl, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
    expect(afterwards.status).toBe(404);
    expect(await contents(stowage.backend('images'))).toEqual({ keys: [], leftovers: [] });
    expect(await stowage.backend('images').keys(STATE_PREFIX)).toEqual([]);
    expect(await page.locator('#errors').textContent()).toMatch(/holiday\.png.*415 CONTENT_TYPE_MISMATCH/);
  });
  it("tus-js-client with an end user's token (?token=): Authorization passes CORS, the object lands under the user's prefix", async () => {
    const token = await userToken('alice');
    const page = await openDemo(
      `?stowage=${encodeURIComponent(secured.url)}&storage=mine&token=${encodeURIComponent(token)}&chunkSize=${MiB}`,
    );
    const sha = await makeFile(page, { name: 'notes.txt', type: 'text/plain', size: 3 * MiB });
    await page.evaluate('demo.tusStart(window.file)');
    const stored = await eventWhere(page, `e.type === 'stored' && e.client === 'tus'`);
    const key = stored.object?.key ?? '';
    expect(key).toMatch(/^users\/alice\//);
    expect(sha256((await secured.backend('mine').object(key)).body)).toBe(sha);
    // The upload is alice's: without her token it is not there for the caller.
    const anonymous = await fetch(stored.uploadUrl ?? '', {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0' },
    });
    expect(anonymous.status).toBe(401);
    const bob = await fetch(stored.uploadUrl ?? '', {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${await userToken('bob')}` },
    });
    expect(bob.status).toBe(404);
  });
});
