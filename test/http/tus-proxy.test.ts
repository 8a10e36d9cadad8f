import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { type Nginx, startNginx } from '../support/nginx.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Issue 14, point 6: the upload's `Location` behind a TLS-terminating proxy. nginx plays the proxy:
 * it takes plain http on loopback and passes on `X-Forwarded-Proto: https` and
 * `X-Forwarded-Host: files.example.com`, as a proxy that took https for that name would. Three
 * Stowage apps behind three such proxies: one that trusts its proxy (`trustProxy: [loopback]`, the
 * proxy's address), one that trusts only another address (so the same headers are anyone's and
 * ignored), and one with `server.publicBaseUrl`, which wins over whatever the request says.
 */
const key = generateApiKey();
const PUBLIC_ORIGIN = 'https://files.example.com';
const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'files.example.com' };

function behindProxy(server: ConfigInput['server']) {
  return useStowage({
    buckets: ['tus'],
    storages: (buckets) => ({
      tus: { driver: 's3', bucket: buckets.tus ?? '', partSize: '5MiB', maxFileSize: '64MiB' },
    }),
    config: {
      server,
      // An API key, not open access: open access would refuse a Host that is not loopback.
      auth: { apiKeys: [{ name: 'frontend-backend', hash: `sha256:${hashApiKey(key)}`, grants: ['tus:*'] }] },
    },
  });
}
const trusted = behindProxy({ trustProxy: ['loopback'] });
const untrusted = behindProxy({ trustProxy: ['10.0.0.0/8'] });
const configured = behindProxy({ publicBaseUrl: `${PUBLIC_ORIGIN}/` });
const proxies: Record<'trusted' | 'untrusted' | 'configured', Nginx | undefined> = {
  trusted: undefined,
  untrusted: undefined,
  configured: undefined,
};

beforeAll(async () => {
  const upstream = (url: string) => [new URL(url).host];
  proxies.trusted = await startNginx(upstream(trusted.url), { headers: forwarded });
  proxies.untrusted = await startNginx(upstream(untrusted.url), { headers: forwarded });
  proxies.configured = await startNginx(upstream(configured.url), { headers: forwarded });
});
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((proxy) => proxy?.stop()));
});

/** POST through the proxy: the Location the client gets, and the id at its end. */
async function create(proxy: Nginx | undefined): Promise<string> {
  const answer = await fetch(`${proxy?.url}/v1/storages/tus/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0', 'upload-length': '10' },
  });
  expect(answer.status).toBe(201);
  return answer.headers.get('location') ?? '';
}

describe('Location behind a TLS-terminating proxy', () => {
  const path = /\/v1\/storages\/tus\/uploads\/u1\.[\w-]+\.[\w-]+$/;

  it('a trusted proxy: https and the forwarded host, as the client reached the proxy', async () => {
    const location = await create(proxies.trusted);
    expect(location.startsWith(`${PUBLIC_ORIGIN}/v1/storages/tus/uploads/`)).toBe(true);
    expect(location).toMatch(path);
  });

  it('a proxy that is not trusted: its X-Forwarded-* are ignored, the Host it passed on is used', async () => {
    const location = await create(proxies.untrusted);
    expect(location.startsWith(`${proxies.untrusted?.url}/v1/storages/tus/uploads/`)).toBe(true);
    expect(location).not.toContain('https:');
    expect(location).not.toContain('files.example.com');
  });

  it('a configured server.publicBaseUrl: used as it is, whatever the request says', async () => {
    const location = await create(proxies.configured);
    expect(location.startsWith(`${PUBLIC_ORIGIN}/v1/storages/tus/uploads/`)).toBe(true);
    // The same without any proxy: the base URL, not the address the client used.
    const direct = await fetch(`${configured.url}/v1/storages/tus/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0', 'upload-length': '10' },
    });
    expect(direct.headers.get('location')?.startsWith(`${PUBLIC_ORIGIN}/v1/`)).toBe(true);
  });

  it('the Location a trusted proxy produced works through it: HEAD answers the upload', async () => {
    const location = await create(proxies.trusted);
    // What the client would send to https://files.example.com, sent to the proxy that stands for it.
    const viaProxy = location.replace(PUBLIC_ORIGIN, proxies.trusted?.url ?? '');
    const head = await fetch(viaProxy, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0' },
    });
    expect([head.status, head.headers.get('upload-offset')]).toEqual([200, '0']);
  });
});
