import { describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { useStowage } from '../support/stowage.ts';

/** Browser access: preflights and actual responses for an allowed and a foreign origin. */
const ALLOWED = 'https://app.example.test';
const FOREIGN = 'https://evil.example.test';

const stowage = useStowage({
  storages: () => ({ media: { driver: 'local', access: 'public' } }),
  config: {
    auth: {
      anonymousGrants: ['media:write'],
      cors: { origins: [ALLOWED], credentials: true, maxAge: '10m' },
    },
  },
});

const preflight = (origin: string, method: string, headers: string) =>
  fetch(`${stowage.url}/v1/storages/media/objects/a.txt`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS', () => {
  it('answers preflights for PUT, multipart POST and ranged GET from an allowed origin', async () => {
    for (const [method, headers] of [
      ['PUT', 'content-type,authorization'],
      ['POST', 'content-type'],
      ['GET', 'range,if-none-match'],
    ] as const) {
      const response = await preflight(ALLOWED, method, headers);
      expect(response.status, method).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toContain(method);
      for (const header of headers.split(','))
        expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(header);
      expect(response.headers.get('access-control-max-age')).toBe('600');
    }
  });

  it('gives a foreign origin no CORS permission', async () => {
    const response = await preflight(FOREIGN, 'PUT', 'content-type');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const actual = await fetch(`${stowage.url}/v1/storages`, { headers: { origin: FOREIGN } });
    expect(actual.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('exposes ETag, Content-Range and Content-Disposition on actual responses', async () => {
    const put = await fetch(`${stowage.url}/v1/storages/media/objects/a.txt`, {
      method: 'PUT',
      body: 'hello cors',
      headers: { origin: ALLOWED, 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(201);
    const ranged = await fetch(`${stowage.url}/v1/storages/media/objects/a.txt`, {
      headers: { origin: ALLOWED, range: 'bytes=0-4' },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const exposed = ranged.headers.get('access-control-expose-headers')?.toLowerCase() ?? '';
    for (const header of ['etag', 'content-range', 'content-disposition', 'location'])
      expect(exposed).toContain(header);
    expect(await ranged.text()).toBe('hello');
  });
});

describe('CORS in the embedded default', () => {
  const open = useStowage({
    storages: () => ({ media: { driver: 'local', access: 'public' } }),
    config: { auth: embeddedDefaultConfig.auth },
  });
  const preflightFrom = (origin: string) =>
    fetch(`${open.url}/v1/storages/media/objects`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it('answers a preflight from a dev server on any loopback port (http://localhost:5173 …)', async () => {
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:3000',
      'http://[::1]:8081',
      'http://localhost',
    ]) {
      const response = await preflightFrom(origin);
      expect(response.status, origin).toBe(204);
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    }
  });

  it('gives other origins no CORS permission', async () => {
    for (const origin of [
      'https://localhost:5173',
      'http://localhost.evil.test:5173',
      'http://127.0.0.2:3000',
      'null',
    ]) {
      const response = await preflightFrom(origin);
      expect(response.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});
