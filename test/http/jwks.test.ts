import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStowage } from '../support/stowage.ts';

/**
 * Tokens verified against keys fetched from a JWKS URL (as with Auth0, Keycloak, Cognito…), served
 * here by a local HTTP server; includes the classic algorithm-confusion attack.
 */
let jwksServer: Server;
let jwksUrl = '';
let privateKey: CryptoKey;
let publicPem = '';
let jwksRequests = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  publicPem = await exportSPKI(pair.publicKey);
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_request, response) => {
    jwksRequests += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
});

afterAll(async () => {
  await new Promise((resolve) => jwksServer.close(resolve));
});

const stowage = useStowage({
  storages: () => ({ docs: { driver: 'local' } }),
  config: {
    get auth() {
      return { jwt: { jwksUrl, issuer: 'https://idp.example.test/', audience: 'stowage' } };
    },
  },
});

const sign = (alg: 'RS256' | 'HS256', key: CryptoKey | Uint8Array, kid = 'k1') =>
  new SignJWT({ sub: 'user-1', scope: 'docs:write docs:list' })
    .setProtectedHeader({ alg, kid })
    .setIssuer('https://idp.example.test/')
    .setAudience('stowage')
    .setExpirationTime('5m')
    .sign(key);

const list = (token: string) =>
  fetch(`${stowage.url}/v1/storages/docs/objects`, { headers: { authorization: `Bearer ${token}` } });

describe('JWT with a JWKS URL', () => {
  it('accepts an RS256 token signed by a key from the set', async () => {
    const response = await list(await sign('RS256', privateKey));
    expect(response.status).toBe(200);
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('refuses an HS256 token whose "secret" is the public key (algorithm confusion)', async () => {
    const forged = await sign('HS256', new TextEncoder().encode(publicPem));
    const response = await list(forged);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('refuses a token signed by a key that is not in the set', async () => {
    const stranger = await generateKeyPair('RS256');
    expect((await list(await sign('RS256', stranger.privateKey))).status).toBe(401);
  });
});
