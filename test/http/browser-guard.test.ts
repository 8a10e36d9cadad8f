import { describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { jsonOf, rawRequest } from '../support/raw-http.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * The open embedded default against web pages (src/http/browser-guard.ts), over real sockets with
 * the headers browsers send: DNS rebinding (a foreign Host) and cross-site writes (Origin,
 * Sec-Fetch-Site) are refused with 403; loopback, the public base URL, same-origin pages, allowed
 * CORS origins and clients that are not browsers are served.
 */

const PUBLIC_HOST = 'files.example.test';

const open = useStowage({
  storages: () => ({ media: { driver: 'local', access: 'public' }, private: { driver: 'local' } }),
  config: { auth: embeddedDefaultConfig.auth, local: { publicBaseUrl: `https://${PUBLIC_HOST}` } },
});

const port = () => new URL(open.url).port;
const code = (body: Buffer) => jsonOf(body).error?.code;

/** A one-file multipart upload, as a browser's form POST sends it. */
function formUpload(storage: string, headers: Record<string, string>) {
  const boundary = 'guard-boundary';
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="n.txt"\r\n` +
      `Content-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`,
  );
  return rawRequest(open.url, {
    method: 'POST',
    path: `/v1/storages/${storage}/objects`,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers },
    body,
  });
}

async function seed(key: string): Promise<void> {
  const put = await fetch(`${open.url}/v1/storages/private/objects/${key}`, { method: 'PUT', body: 'seed' });
  expect(put.status).toBe(201);
}

describe('browser guard on the open embedded default', () => {
  it('DNS rebinding: a foreign Host can neither list, read nor delete', async () => {
    await seed('kept.txt');
    for (const host of [
      `attacker.example:${port()}`,
      'attacker.example',
      `127.0.0.1.attacker.example:${port()}`,
      `localhost.attacker.example:${port()}`,
    ]) {
      for (const [method, path] of [
        ['GET', '/v1/storages/private/objects'],
        ['GET', '/v1/storages/private/objects/kept.txt'],
        ['DELETE', '/v1/storages/private/objects/kept.txt'],
      ] as const) {
        const response = await rawRequest(open.url, { method, path, headers: { host } });
        expect(response.status, `${method} ${path} Host: ${host}`).toBe(403);
        expect(code(response.body)).toBe('HOST_NOT_ALLOWED');
      }
    }
    expect(await open.backend('private').keys()).toContain('kept.txt');
  });

  it('serves loopback names on any port and the public base URL host', async () => {
    for (const host of [
      `127.0.0.1:${port()}`,
      `localhost:${port()}`,
      `[::1]:${port()}`,
      '127.0.0.2',
      PUBLIC_HOST,
    ]) {
      const response = await rawRequest(open.url, {
        method: 'GET',
        path: '/v1/storages/private/objects',
        headers: { host },
      });
      expect(response.status, host).toBe(200);
    }
  });

  it('refuses cross-site writes: a foreign or null Origin, or Sec-Fetch-Site: cross-site', async () => {
    for (const headers of [
      { origin: 'http://127.0.0.2:5000', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://attacker.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const response = await formUpload('media', headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(code(response.body)).toBe('CROSS_SITE_WRITE');
    }
    await seed('doomed.txt');
    const removal = await rawRequest(open.url, {
      method: 'DELETE',
      path: '/v1/storages/private/objects/doomed.txt',
      headers: { origin: 'https://attacker.example' },
    });
    expect(removal.status).toBe(403);
    expect(await open.backend('media').keys()).toEqual([]);
    expect(await open.backend('private').keys()).toContain('doomed.txt');
  });

  it('accepts writes from this origin, from CORS-allowed origins and from clients that are not browsers', async () => {
    for (const headers of [
      { origin: open.url, 'sec-fetch-site': 'same-origin' },
      { origin: 'http://localhost:5173', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-origin' },
      {},
    ]) {
      const response = await formUpload('media', headers);
      expect(response.status, JSON.stringify(headers)).toBe(201);
    }
    expect(await open.backend('media').keys()).toHaveLength(4);
  });

  it('lets cross-site reads through (the browser keeps their answer from the page)', async () => {
    const response = await rawRequest(open.url, {
      method: 'GET',
      path: '/v1/storages/media/objects',
      headers: { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(response.status).toBe(200);
  });
});

describe('browser guard when credentials are required', () => {
  const closed = useStowage({
    storages: () => ({ media: { driver: 'local', access: 'public' } }),
    config: { auth: { anonymousGrants: [] } },
  });

  it('stays off: any Host and Origin get the usual answers', async () => {
    const response = await rawRequest(closed.url, {
      method: 'GET',
      path: '/v1/storages/media/objects',
      headers: { host: 'attacker.example', origin: 'https://attacker.example' },
    });
    expect(response.status).toBe(401);
    expect(code(response.body)).toBe('UNAUTHORIZED');
  });
});
