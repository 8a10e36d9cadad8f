import { createHash } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStowage } from '../support/stowage.ts';

/**
 * The access matrix: every storage × every action × every kind of caller, over real HTTP, on each
 * driver. The expected outcome of each cell is written out by hand below (not computed with the code
 * under test), and the test prints how many cells it checked.
 */

const SECRET = 'jwt-test-secret-jwt-test-secret-0123456789';
const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'stowage';
const KEYS = {
  all: 'stw_all_services_key_000000000000000000000000000',
  mediaWriter: 'stw_media_writer_key_0000000000000000000000000',
  docsReader: 'stw_docs_reader_key_00000000000000000000000000',
};
const sha = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

type Action = 'read' | 'write' | 'delete' | 'list' | 'sign';
const ACTIONS: Action[] = ['read', 'write', 'delete', 'list', 'sign'];
const STORAGES = ['media', 'docs', 'mine', 'ghost'] as const;
type StorageName = (typeof STORAGES)[number];

const secret = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const token = (
  claims: Record<string, unknown>,
  options: { alg?: string; key?: Uint8Array; iss?: string; aud?: string; exp?: number } = {},
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? now() + 600)
    .sign(options.key ?? secret);

const ALICE_SCOPE = 'openid docs:read docs:write docs:delete docs:list docs:sign mine:*';

interface Caller {
  name: string;
  headers: () => Promise<Record<string, string>>;
  /** Cells that succeed, as "storage:action". Anything else must fail with `denied`. */
  allowed: string[];
  /** Status for a cell outside `allowed`. */
  denied: 401 | 403;
  /** Status for a storage that does not exist, when it differs from `denied`. */
  ghost?: 404;
}

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const PUBLIC_READ = ['media:read'];

const callers: Caller[] = [
  { name: 'no credentials', headers: async () => ({}), allowed: PUBLIC_READ, denied: 401 },
  {
    name: 'API key with every grant',
    headers: async () => bearer(KEYS.all),
    allowed: ['media', 'docs', 'mine'].flatMap((storage) => ACTIONS.map((action) => `${storage}:${action}`)),
    denied: 403,
    ghost: 404,
  },
  {
    name: 'API key for media only (X-Api-Key header)',
    headers: async () => ({ 'x-api-key': KEYS.mediaWriter }),
    allowed: ACTIONS.map((action) => `media:${action}`),
    denied: 403,
  },
  {
    name: 'API key that may only read and list docs',
    headers: async () => bearer(KEYS.docsReader),
    allowed: [...PUBLIC_READ, 'docs:read', 'docs:list'],
    denied: 403,
  },
  {
    name: 'unknown API key',
    headers: async () => bearer('stw_not_a_configured_key_000000000000000000'),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT of alice',
    headers: async () => bearer(await token({ sub: 'alice', scope: ALICE_SCOPE })),
    allowed: [
      ...PUBLIC_READ,
      ...['docs', 'mine'].flatMap((storage) => ACTIONS.map((action) => `${storage}:${action}`)),
    ],
    denied: 403,
  },
  {
    name: "JWT of bob, on alice's keys",
    headers: async () => bearer(await token({ sub: 'bob', scope: ALICE_SCOPE })),
    allowed: [...PUBLIC_READ, ...ACTIONS.map((action) => `docs:${action}`)],
    denied: 403,
  },
  {
    name: 'expired JWT',
    headers: async () => bearer(await token({ sub: 'alice', scope: ALICE_SCOPE }, { exp: now() - 120 })),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT with the wrong audience',
    headers: async () => bearer(await token({ sub: 'alice', scope: ALICE_SCOPE }, { aud: 'other-service' })),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT from the wrong issuer',
    headers: async () =>
      bearer(await token({ sub: 'alice', scope: ALICE_SCOPE }, { iss: 'https://evil.example/' })),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT with a bad signature',
    headers: async () =>
      bearer(
        await token(
          { sub: 'alice', scope: ALICE_SCOPE },
          { key: new TextEncoder().encode('another-secret-another-secret-0123456789') },
        ),
      ),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT with a disallowed algorithm (HS512)',
    headers: async () => bearer(await token({ sub: 'alice', scope: ALICE_SCOPE }, { alg: 'HS512' })),
    allowed: [],
    denied: 401,
  },
  {
    name: 'JWT with alg "none"',
    headers: async () =>
      bearer(
        new UnsecuredJWT({ sub: 'alice', scope: ALICE_SCOPE })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 600)
          .encode(),
      ),
    allowed: [],
    denied: 401,
  },
  {
    name: 'malformed Authorization header',
    headers: async () => ({ authorization: 'Basic YWxpY2U6c2VjcmV0' }),
    allowed: [],
    denied: 401,
  },
];

/** Each action as a request against keys seeded in every storage (alice's area for `mine`). */
function request(
  action: Action,
  storage: StorageName,
  cell: number,
): { method: string; path: string; body?: string; headers?: Record<string, string> } {
  const area = storage === 'mine' ? 'users/alice/' : '';
  const base = `/v1/storages/${storage}`;
  switch (action) {
    case 'read':
      return { method: 'GET', path: `${base}/objects/${area}seed.txt` };
    case 'write':
      return {
        method: 'PUT',
        path: `${base}/objects/${area}written-${cell}.txt`,
        body: `cell ${cell}`,
        headers: { 'content-type': 'text/plain' },
      };
    case 'delete':
      return { method: 'DELETE', path: `${base}/objects/${area}doomed-${cell}.txt` };
    case 'list':
      return { method: 'GET', path: `${base}/objects?prefix=${encodeURIComponent(area)}` };
    case 'sign':
      return {
        method: 'POST',
        path: `${base}/urls`,
        body: JSON.stringify({ key: `${area}seed.txt` }),
        headers: { 'content-type': 'application/json' },
      };
  }
}
const SUCCESS: Record<Action, number> = { read: 200, write: 201, delete: 204, list: 200, sign: 200 };

for (const driver of ['s3', 'local'] as const) {
  describe(`access matrix on the ${driver} driver`, () => {
    const profile = (bucket: string | undefined) =>
      driver === 's3' ? { driver: 's3' as const, bucket: bucket ?? '' } : { driver: 'local' as const };
    const stowage = useStowage({
      buckets: driver === 's3' ? ['media', 'docs', 'mine'] : [],
      storages: (buckets) => ({
        media: { ...profile(buckets.media), access: 'public' },
        docs: { ...profile(buckets.docs) },
        mine: { ...profile(buckets.mine), ownerPrefix: 'users/{sub}/' },
      }),
      config: {
        auth: {
          apiKeys: [
            { name: 'all', hash: sha(KEYS.all), grants: ['*:*'] },
            { name: 'media-writer', hash: sha(KEYS.mediaWriter), grants: ['media:*'] },
            { name: 'docs-reader', hash: sha(KEYS.docsReader), grants: ['docs:read', 'docs:list'] },
          ],
          jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, clockSkew: '30s' },
        },
      },
    });
    const tokensSeen: string[] = [];
    let cells = 0;

    beforeAll(async () => {
      for (const [storage, area] of [
        ['media', ''],
        ['docs', ''],
        ['mine', 'users/alice/'],
      ]) {
        const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects/${area}seed.txt`, {
          method: 'PUT',
          body: 'seed',
          headers: { 'content-type': 'text/plain', ...bearer(KEYS.all) },
        });
        expect(response.status).toBe(201);
      }
    });

    afterAll(() => {
      console.log(`[access matrix, ${driver}] ${cells} cells checked`);
    });

    for (const caller of callers) {
      it(`${caller.name}: exactly the allowed cells succeed`, async () => {
        const outcomes: string[] = [];
        const expected: string[] = [];
        for (const storage of STORAGES) {
          for (const action of ACTIONS) {
            const cell = cells++;
            const spec = request(action, storage, cell);
            const headers = { ...spec.headers, ...(await caller.headers()) };
            tokensSeen.push(...Object.values(headers).filter((value) => value.length > 20));
            const response = await fetch(`${stowage.url}${spec.path}`, {
              method: spec.method,
              headers,
              ...(spec.body !== undefined && { body: spec.body }),
            });
            await response.arrayBuffer();
            const want = caller.allowed.includes(`${storage}:${action}`)
              ? SUCCESS[action]
              : storage === 'ghost' && caller.ghost
                ? caller.ghost
                : caller.denied;
            outcomes.push(`${storage}:${action} ${response.status}`);
            expected.push(`${storage}:${action} ${want}`);
            if (response.status === 401)
              expect(response.headers.get('www-authenticate'), `${storage}:${action}`).toMatch(
                /^Bearer realm="stowage"/,
              );
          }
        }
        expect(outcomes).toEqual(expected);
      });
    }

    it('a JWT confined to its owner prefix uploads into it, and lists only it', async () => {
      const headers = bearer(await token({ sub: 'carol', scope: 'mine:write mine:list' }));
      const body = new FormData();
      body.append('file', new Blob(['hello'], { type: 'text/plain' }), 'note.txt');
      const upload = await fetch(`${stowage.url}/v1/storages/mine/objects`, {
        method: 'POST',
        body,
        headers,
      });
      expect(upload.status).toBe(201);
      const { objects } = (await upload.json()) as { objects: Array<{ key: string }> };
      expect(objects[0]?.key).toMatch(/^users\/carol\/[0-9a-f]{32}\.txt$/);
      const listing = await fetch(`${stowage.url}/v1/storages/mine/objects`, { headers });
      const keys = ((await listing.json()) as { objects: Array<{ key: string }> }).objects.map(
        (object) => object.key,
      );
      expect(keys).toEqual([objects[0]?.key]);
      const elsewhere = await fetch(`${stowage.url}/v1/storages/mine/objects?prefix=users/alice/`, {
        headers,
      });
      expect(elsewhere.status).toBe(403);
    });

    it('GET /v1/storages shows a caller only the storages it may use', async () => {
      const names = async (headers: Record<string, string>) =>
        (
          (await (await fetch(`${stowage.url}/v1/storages`, { headers })).json()) as {
            storages: Array<{ name: string }>;
          }
        ).storages.map((s) => s.name);
      expect(await names({})).toEqual(['media']);
      expect(await names(bearer(KEYS.docsReader))).toEqual(['media', 'docs']);
      expect(await names(bearer(KEYS.all))).toEqual(['media', 'docs', 'mine']);
    });

    it('no key, token or signature ever reaches the log', () => {
      const log = stowage.logs.join('\n');
      expect(log).toContain('"principal":"api-key:all"');
      for (const secretValue of new Set(tokensSeen)) {
        const credential = secretValue.replace(/^Bearer /, '');
        expect(log.includes(credential), 'a credential is in the log').toBe(false);
        // The signature part alone is enough to be a leak for a JWT.
        const signaturePart = credential.split('.')[2];
        if (signaturePart) expect(log.includes(signaturePart), 'a JWT signature is in the log').toBe(false);
      }
      expect(log).not.toMatch(/X-Amz-Signature=[0-9a-f]/i);
      expect(log).not.toMatch(/signature=[\w-]{20}/);
    });
  });
}
