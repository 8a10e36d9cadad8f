import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { StoredObject } from '../../src/storage/intake.ts';
import { form, png } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Signed upload receipts (issue 15 point 4): every upload answer carries one; an application's
 * backend verifies it offline with the published JWKS (here with `jose`, as any backend would) or
 * with one call; a receipt altered in any byte, or signed with another secret, is refused.
 */

const KEY = 'stw_receipts_key_00000000000000000000000000000';
const SECRET = 'receipts-test-secret-receipts-test-secret-0001';
const auth = { authorization: `Bearer ${KEY}` };
const apiKeys = [
  { name: 'uploader', hash: `sha256:${createHash('sha256').update(KEY).digest('hex')}`, grants: ['*:*'] },
];

type Stored = StoredObject & { receipt: string };

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage({
      ...forDriver(driver, { media: {} }),
      config: { auth: { apiKeys }, receipts: { secret: SECRET } },
    });
    const other = useStowage({
      ...forDriver(driver, { media: {} }),
      config: { auth: { apiKeys }, receipts: { secret: `${SECRET}-another` } },
    });
    const verify = (base: string, receipt: string) =>
      fetch(`${base}/v1/receipts/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ receipt }),
      });

    it('a form upload and a PUT each answer a receipt that the published key verifies offline', async () => {
      const posted = await fetch(`${stowage.url}/v1/storages/media/objects`, {
        method: 'POST',
        headers: auth,
        body: form({ name: 'photo.png', type: 'image/png', data: png(3000) }),
      });
      expect(posted.status).toBe(201);
      const [fromForm] = ((await posted.json()) as { objects: Stored[] }).objects;
      const put = await fetch(`${stowage.url}/v1/storages/media/objects/by-put.png`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'image/png' },
        body: png(1500),
      });
      expect(put.status).toBe(201);
      const fromPut = (await put.json()) as Stored;

      const keys = await fetch(`${stowage.url}/v1/receipts/keys`);
      expect(keys.status).toBe(200);
      const jwks = createLocalJWKSet((await keys.json()) as never);
      for (const stored of [fromForm!, fromPut]) {
        const { payload, protectedHeader } = await jwtVerify(stored.receipt, jwks, { issuer: 'stowage' });
        expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'stowage-receipt+jwt' });
        expect(payload).toMatchObject({
          sub: 'api-key:uploader',
          storage: 'media',
          key: stored.key,
          size: stored.size,
          contentType: stored.contentType,
          etag: stored.etag,
          sha256: stored.checksum.sha256,
        });
        expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
      }
    });

    it('POST /v1/receipts/verify answers what it says, and refuses an altered or foreign receipt', async () => {
      const put = await fetch(`${stowage.url}/v1/storages/media/objects/verify-me.png`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'image/png' },
        body: png(900),
      });
      const stored = (await put.json()) as Stored;
      const good = await verify(stowage.url, stored.receipt);
      expect(good.status).toBe(200);
      expect(await good.json()).toMatchObject({
        valid: true,
        storage: 'media',
        key: 'verify-me.png',
        size: stored.size,
        principal: 'api-key:uploader',
        sha256: stored.checksum.sha256,
      });

      // Another size in the payload, same signature.
      const [header, payload, signature] = stored.receipt.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, size: 1 })).toString('base64url');
      for (const receipt of [`${header}.${forged}.${signature}`, 'not-a-receipt', `${header}.${payload}.`]) {
        const refused = await verify(stowage.url, receipt);
        expect(refused.status, receipt.slice(0, 20)).toBe(400);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RECEIPT_INVALID');
      }
      // Signed by an instance with another secret: not ours.
      const foreign = await verify(other.url, stored.receipt);
      expect(foreign.status).toBe(400);
      await foreign.arrayBuffer();
    });
  });

describe('instances with the same secret', () => {
  const first = useStowage({
    ...forDriver('local', { media: {} }),
    config: { auth: { apiKeys }, receipts: { secret: SECRET } },
  });
  const second = useStowage({
    ...forDriver('local', { media: {} }),
    config: { auth: { apiKeys }, receipts: { secret: SECRET } },
  });
  it('publish the same key, so either verifies the other’s receipts', async () => {
    const jwks = await Promise.all(
      [first.url, second.url].map(async (base) => (await fetch(`${base}/v1/receipts/keys`)).json()),
    );
    expect(jwks[0]).toEqual(jwks[1]);
    const put = await fetch(`${first.url}/v1/storages/media/objects/shared.png`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'image/png' },
      body: png(800),
    });
    const { receipt } = (await put.json()) as Stored;
    const checked = await fetch(`${second.url}/v1/receipts/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receipt }),
    });
    expect(checked.status).toBe(200);
    await checked.arrayBuffer();
  });
});
