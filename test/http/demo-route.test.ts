import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { parseConfig } from '../../src/config/load.ts';
import { chromiumFlags, ensureChromium } from '../support/debian-packages.ts';
import { eventWhere, makeFile } from '../support/demo-page.ts';
import { sha256 } from '../support/payloads.ts';
import { forDriver, useStowage } from '../support/stowage.ts';

/**
 * The demo page served by Stowage itself at /demo/ (`demo.enabled`, on in the embedded default): the
 * page and the Uppy and tus-js-client bundles from the npm packages, only the fixed asset map, and in
 * a real browser a tus upload from that page to its own origin.
 */

const MiB = 1024 * 1024;
const on = useStowage({ ...forDriver('local', { files: {} }), config: { demo: { enabled: true } } });
const off = useStowage(forDriver('local', { files: {} }));

describe('/demo/', () => {
  it('is on in the embedded default and off otherwise', () => {
    expect(parseConfig(embeddedDefaultConfig, {}, 'embedded').demo.enabled).toBe(true);
    expect(parseConfig({ ...embeddedDefaultConfig, demo: {} }, {}, 'no demo').demo.enabled).toBe(false);
  });

  it('serves the page (uploading to its own origin) and its assets from the npm packages, nothing else', async () => {
    const redirect = await fetch(`${on.url}/demo`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/demo/']);
    const page = await fetch(`${on.url}/demo/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<meta name="stowage-url" content="" />');
    for (const [path, type] of [
      ['page.js', /^text\/javascript/],
      ['files.js', /^text\/javascript/],
      ['vendor/uppy.min.mjs', /^text\/javascript/],
      ['vendor/uppy.min.css', /^text\/css/],
      ['vendor/tus.min.js', /^text\/javascript/],
    ] as const) {
      const asset = await fetch(`${on.url}/demo/${path}`);
      expect([path, asset.status]).toEqual([path, 200]);
      expect(asset.headers.get('content-type')).toMatch(type);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    for (const path of ['index.ts', 'server.ts', '..%2Fpackage.json', 'vendor/../assets.ts']) {
      const refused = await fetch(`${on.url}/demo/${path}`);
      expect([path, refused.status]).toEqual([path, 404]);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    const disabled = await fetch(`${off.url}/demo/`);
    expect(disabled.status).toBe(404);
    await disabled.arrayBuffer();
  });

  it('in Chromium, the page uploads with tus-js-client to the origin that served it', async () => {
    const browser = await chromium.launch({ executablePath: await ensureChromium(), args: chromiumFlags });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${on.url}/demo/?storage=files`);
      await page.evaluate('demo.ready');
      expect(await page.locator('#target').textContent()).toBe(on.url);
      const sha = await makeFile(page, { name: 'same-origin.txt', type: 'text/plain', size: 3 * MiB });
      await page.evaluate('demo.tusStart(window.file)');
      const stored = await eventWhere(page, `e.type === 'stored' && e.client === 'tus'`);
      const object = await on.backend('files').object(stored.object?.key ?? '');
      expect(sha256(object.body)).toBe(sha);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
