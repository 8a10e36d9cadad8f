import { createServer, type Server } from 'node:http';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { chromiumFlags, ensureChromium } from '../support/debian-packages.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * The browser guard (src/http/browser-guard.ts) in a real browser: headless Chromium, pages on
 * other loopback origins, the open embedded default's access and CORS. A form on another site
 * cannot store a file, a rebinding name cannot list, and the same origin and an allowed dev-server
 * origin still work. Debian's Chromium is installed on first use (test/support/debian-packages.ts).
 */

const stowage = useStowage({
  storages: () => ({ media: { driver: 'local', access: 'public' }, private: { driver: 'local' } }),
  config: { auth: embeddedDefaultConfig.auth },
});

/** A server of one page, standing for another site's page or a frontend's dev server. */
function pageServer(host: string, html: () => string): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(html());
  });
  return new Promise((resolve) =>
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      resolve({ server, url: `http://${host}:${port}/` });
    }),
  );
}

const formPage = () => `<!doctype html><form method="post" enctype="multipart/form-data"
  action="${stowage.url}/v1/storages/media/objects"><input type="file" name="file"></form>`;

/** Runs in the page: a multipart POST by fetch (a "simple" request: no preflight), its status or failure. */
const postFile = (target: string) =>
  `(async () => {
    const body = new FormData();
    body.append('file', new Blob(['hello from a page'], { type: 'text/plain' }), 'page.txt');
    try { return (await fetch(${JSON.stringify(target)}, { method: 'POST', body })).status; }
    catch { return 'failed'; }
  })()`;

describe('browser guard in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const servers: Server[] = [];
  let foreign = '';
  let devServer = '';

  beforeAll(async () => {
    const other = await pageServer('127.0.0.2', formPage);
    const dev = await pageServer('127.0.0.1', () => '<!doctype html><p>dev server</p>');
    servers.push(other.server, dev.server);
    foreign = other.url;
    devServer = dev.url.replace('127.0.0.1', 'localhost');
    browser = await chromium.launch({
      executablePath: await ensureChromium(),
      args: [
        ...chromiumFlags,
        // DNS rebinding without a DNS server: this name resolves to Stowage's address.
        '--host-resolver-rules=MAP rebound.example.test 127.0.0.1',
      ],
    });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  const stored = () => stowage.backend('media').keys();
  const uploads = () => `${stowage.url}/v1/storages/media/objects`;

  it('a form on another origin (127.0.0.2) cannot store a file', async () => {
    await page.goto(foreign);
    await page.setInputFiles('input[type=file]', {
      name: 'form.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello from a form'),
    });
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.evaluate('document.forms[0].submit()'),
    ]);
    expect(response?.status()).toBe(403);
    expect(await response?.json()).toMatchObject({ error: { code: 'CROSS_SITE_WRITE' } });
    expect(await stored()).toEqual([]);
  });

  it("another origin's fetch cannot store a file either", async () => {
    await page.goto(foreign);
    // Not CORS-allowed: the page cannot read the answer, and nothing was stored.
    expect(await page.evaluate(postFile(uploads()))).toBe('failed');
    expect(await stored()).toEqual([]);
  });

  it('a page under a name rebound to 127.0.0.1 cannot list or read', async () => {
    const { port } = new URL(stowage.url);
    const response = await page.goto(`http://rebound.example.test:${port}/v1/storages/private/objects`);
    expect(response?.status()).toBe(403);
    expect(await response?.json()).toMatchObject({ error: { code: 'HOST_NOT_ALLOWED' } });
  });

  it('the same origin and an allowed dev-server origin (http://localhost:…) can upload', async () => {
    await page.goto(`${stowage.url}/healthz`);
    expect(await page.evaluate(postFile(uploads()))).toBe(201);
    await page.goto(devServer);
    expect(await page.evaluate(postFile(uploads()))).toBe(201);
    expect(await stored()).toHaveLength(2);
  });
});
