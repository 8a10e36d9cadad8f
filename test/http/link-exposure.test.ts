import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesOf, stowageApi } from '../support/api.ts';
import { text } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * What the unauthenticated read routes of local storages (/v1/public, /v1/links) give away: only the
 * public storage's own objects, and nothing about which other storages exist.
 */

// One directory for two local storages, apart by prefix (the config refuses overlapping ones).
const shared = mkdtempSync(join(tmpdir(), 'stowage-shared-'));
afterAll(() => rmSync(shared, { recursive: true, force: true }));

const stowage = useStowage({
  storages: () => ({
    media: { driver: 'local', directory: shared, prefix: 'media/', access: 'public' },
    secrets: { driver: 'local', directory: shared, prefix: 'secrets/' },
  }),
});
const api = stowageApi(stowage);

describe('GET /v1/public/{storage}/…', () => {
  it("serves the public storage's own keys, and another storage's keys in the same directory as missing", async () => {
    const own = await api.put('media', 'hello.txt', text('public'), { 'content-type': 'text/plain' });
    expect(own.status).toBe(201);
    const secret = await api.put('secrets', 'plan.txt', text('private'), { 'content-type': 'text/plain' });
    expect(secret.status).toBe(201);

    const served = await fetch(`${stowage.url}/v1/public/media/media/hello.txt`);
    expect(served.status).toBe(200);
    expect((await bytesOf(served)).toString()).toBe('public');

    // The backend key of the private object, through the public storage's route.
    const leaked = await fetch(`${stowage.url}/v1/public/media/secrets/plan.txt`);
    const missing = await fetch(`${stowage.url}/v1/public/media/media/no-such.txt`);
    expect(leaked.status).toBe(404);
    expect(await leaked.json()).toEqual(await missing.json());
    expect(missing.status).toBe(404);
    expect((await api.object('media', 'hello.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await api.object('secrets', 'plan.txt', { method: 'DELETE' })).status).toBe(204);
  });
});
