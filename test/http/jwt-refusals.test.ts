import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { useStowage } from '../support/stowage.ts';

/**
 * Why a token is refused: the 401 names the failed check, the request's log line carries jose's own
 * reason (code and claim) for the operator, and neither contains the token. A numeric `sub` is
 * refused: as a key prefix it would read the same as the string.
 */

const SECRET = 'jwt-refusals-secret-jwt-refusals-secret-0123';
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'stowage';
const key = new TextEncoder().encode(SECRET);

const stowage = useStowage({
  storages: () => ({ mine: { driver: 'local', ownerPrefix: 'users/{sub}/' } }),
  config: { auth: { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } } },
});

interface TokenOptions {
  alg?: string;
  iss?: string;
  aud?: string;
  exp?: number | null;
  key?: Uint8Array;
}

function token(claims: Record<string, unknown>, options: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ scope: 'mine:write mine:list', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(options.key ?? key);
}

const put = (jwt: string, path: string) =>
  fetch(`${stowage.url}/v1/storages/mine/objects/${path}`, {
    method: 'PUT',
    body: 'hello',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'text/plain' },
  });

interface Line {
  reqId?: string;
  msg: string;
  [field: string]: unknown;
}

/** The completion line of a request (written once the response is sent). */
async function completionLine(requestId: string): Promise<Line | undefined> {
  for (let tries = 0; tries < 50; tries++) {
    const line = stowage.logs
      .map((text) => JSON.parse(text) as Line)
      .find((entry) => entry.reqId === requestId && entry.msg === 'request completed');
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

const longAgo = Math.floor(Date.now() / 1000) - 3600;

describe('JWT refusals', () => {
  const cases: Array<[string, () => Promise<string>, RegExp, RegExp]> = [
    ['wrong issuer', () => token({ sub: 'alice' }, { iss: 'https://evil.test/' }), /issuer/, /iss/],
    ['wrong audience', () => token({ sub: 'alice' }, { aud: 'other' }), /audience/, /aud/],
    ['disallowed algorithm', () => token({ sub: 'alice' }, { alg: 'HS512' }), /algorithm/, /ALG_NOT_ALLOWED/],
    ['expired', () => token({ sub: 'alice' }, { exp: longAgo }), /expired/, /ERR_JWT_EXPIRED.*exp/],
    ['no exp', () => token({ sub: 'alice' }, { exp: null }), /no exp claim/, /exp: missing/],
    ['no sub', () => token({}), /no sub claim/, /sub: missing/],
    [
      'numeric sub',
      () => token({ sub: 42 }),
      /sub claim must be a non-empty string/,
      /sub claim is a number/,
    ],
    [
      'bad signature',
      () => token({ sub: 'alice' }, { key: new TextEncoder().encode('x'.repeat(40)) }),
      /signature/,
      /SIGNATURE_VERIFICATION_FAILED/,
    ],
  ];

  for (const [name, make, message, diagnostic] of cases) {
    it(`${name}: 401 naming the check, jose's reason in the log, the token in neither`, async () => {
      const jwt = await make();
      const response = await put(jwt, `users/alice/${name.replaceAll(' ', '-')}.txt`);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(body.error.message).toMatch(message);
      expect(response.headers.get('www-authenticate')).toContain(`error_description="${body.error.message}"`);
      const line = await completionLine(response.headers.get('x-request-id') ?? '');
      expect(line).toMatchObject({ code: 'UNAUTHORIZED', reason: body.error.message });
      expect(line?.diagnostic).toMatch(diagnostic);
      const signature = jwt.split('.')[2] ?? '';
      expect(JSON.stringify(body)).not.toContain(signature);
      expect(stowage.logs.join('\n')).not.toContain(signature);
    });
  }

  it('a numeric sub cannot write under the prefix of the string sub it looks like', async () => {
    expect((await put(await token({ sub: 42 }), 'users/42/n.txt')).status).toBe(401);
    expect(await stowage.backend('mine').keys()).toEqual([]);
    const owner = await put(await token({ sub: '42' }), 'users/42/s.txt');
    expect(owner.status).toBe(201);
    expect(await stowage.backend('mine').keys()).toEqual(['users/42/s.txt']);
  });
});
