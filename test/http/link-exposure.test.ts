import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesOf, stowageApi } from '../support/api.ts';
import { text } from '../support/payloads.ts';
import { rawRequest } from '../support/raw-http.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * What the unauthenticated routes (/v1/public, /v1/links, /readyz) give away: only the public
 * storage's own objects, and nothing about which other storages exist.
 */

// One directory for two local storages, apart by prefix (the config refuses overlapping ones).
const shared = mkdtempSync(join(tmpdir(), 'stowage-shared-'));
afterAll(() => rmSync(shared, { recursive: true, force: true }));

const OPS_KEY = 'stw_ops_key_for_exposure_tests_000000000000000';
const stowage = useStowage({
  buckets: ['vault', 'cdn'],
  storages: (buckets) => ({
    media: { driver: 'local', directory: shared, prefix: 'media/', access: 'public' },
    secrets: { driver: 'local', directory: shared, prefix: 'secrets/' },
    vault: { driver: 's3', bucket: buckets.vault! },
    cdn: { driver: 's3', bucket: buckets.cdn!, access: 'public' },
  }),
  config: {
    auth: {
      apiKeys: [
        {
          name: 'ops',
          hash: `sha256:${createHash('sha256').update(OPS_KEY).digest('hex')}`,
          grants: ['media:*', 'secrets:*'],
        },
      ],
    },
  },
});
const api = stowageApi(stowage);
const asOps = { authorization: `Bearer ${OPS_KEY}` };

/** Status, headers that could differ, and body: what a prober sees. */
async function seen(path: string, method = 'GET') {
  const response = await rawRequest(stowage.url, { method, path });
  return {
    status: response.status,
    type: response.headers['content-type'],
    length: response.headers['content-length'],
    body: response.body.toString('utf8'),
  };
}

describe('GET /v1/public/{storage}/…', () => {
  it("serves the public storage's own keys, and another storage's keys in the same directory as missing", async () => {
    const own = await api.put('media', 'hello.txt', text('public'), {
      'content-type': 'text/plain',
      ...asOps,
    });
    expect(own.status).toBe(201);
    const secret = await api.put('secrets', 'plan.txt', text('private'), {
      'content-type': 'text/plain',
      ...asOps,
    });
    expect(secret.status).toBe(201);

    const served = await fetch(`${stowage.url}/v1/public/media/media/hello.txt`);
    expect(served.status).toBe(200);
    expect((await bytesOf(served)).toString()).toBe('public');

    // The backend key of the private object, through the public storage's route.
    const leaked = await seen('/v1/public/media/secrets/plan.txt');
    expect(leaked.status).toBe(404);
    expect(leaked).toEqual(await seen('/v1/public/media/media/no-such.txt'));
    for (const key of ['hello.txt', 'plan.txt'])
      await api.object(key === 'plan.txt' ? 'secrets' : 'media', key, { method: 'DELETE', headers: asOps });
  });

  it('answers a missing, private, S3 or public S3 storage exactly as a missing key (GET and HEAD)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const missingKey = await seen('/v1/public/media/media/absent.txt', method);
      expect(missingKey.status).toBe(404);
      for (const storage of ['nope', 'secrets', 'vault', 'cdn'])
        expect(await seen(`/v1/public/${storage}/media/absent.txt`, method), `${method} ${storage}`).toEqual(
          missingKey,
        );
    }
  });
});

describe('GET /v1/links/{storage}/…', () => {
  it('answers a missing, S3 or local storage exactly as a bad link', async () => {
    const query = '?expires=4102444800&signature=AAAA';
    const local = await seen(`/v1/links/secrets/secrets/plan.txt${query}`);
    expect(local.status).toBe(403);
    for (const storage of ['nope', 'vault', 'cdn', 'media'])
      expect(await seen(`/v1/links/${storage}/secrets/plan.txt${query}`), storage).toEqual(local);
    // A link without its fields, too.
    const bare = await seen('/v1/links/secrets/secrets/plan.txt');
    for (const storage of ['nope', 'vault'])
      expect(await seen(`/v1/links/${storage}/secrets/plan.txt`), storage).toEqual(bare);
  });
});

describe('GET /readyz', () => {
  it('names only the storages the caller may know of; the status still covers them all', async () => {
    const anonymous = await fetch(`${stowage.url}/readyz`);
    expect(anonymous.status).toBe(200);
    const body = (await anonymous.json()) as { status: string; storages: Record<string, unknown> };
    expect(body.status).toBe('ok');
    // Public storages are listed for anyone (GET /v1/storages lists them too); private ones are not.
    expect(Object.keys(body.storages).sort()).toEqual(['cdn', 'media']);

    const ops = await fetch(`${stowage.url}/readyz`, { headers: asOps });
    const named = (await ops.json()) as { storages: Record<string, unknown> };
    expect(Object.keys(named.storages).sort()).toEqual(['cdn', 'media', 'secrets']);
  });
});
