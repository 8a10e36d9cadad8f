import { describe, expect, it } from 'vitest';
import { openAnonymousGrants } from '../../src/auth/open-access.ts';
import { originMatcher } from '../../src/auth/origins.ts';
import { tokenRefusal } from '../../src/auth/token-errors.ts';
import { parseConfig } from '../../src/config/load.ts';
import { hostMatcher } from '../../src/http/browser-guard.ts';

describe('originMatcher', () => {
  const allowed = originMatcher(['https://app.example.test', 'http://localhost:*', 'http://[::1]:*']);

  it('matches exact origins, and "host:*" with any port or none', () => {
    for (const origin of [
      'https://app.example.test',
      'http://localhost',
      'http://localhost:5173',
      'http://LOCALHOST:80',
      'http://[::1]:3000',
    ])
      expect(allowed(origin), origin).toBe(true);
  });

  it('refuses other schemes, hosts, ports of exact origins, look-alikes and null', () => {
    for (const origin of [
      'https://app.example.test:8443',
      'http://app.example.test',
      'https://localhost:5173',
      'http://localhost.evil.test',
      'http://evil-localhost:5173',
      'http://localhost:5173.evil.test',
      'null',
      '',
    ])
      expect(allowed(origin), origin).toBe(false);
  });

  it('"*" allows anything', () => {
    expect(originMatcher(['*'])('https://anything.test')).toBe(true);
  });
});

describe('hostMatcher', () => {
  const config = parseConfig(
    {
      server: { publicBaseUrl: 'https://stowage.example.test' },
      local: { publicBaseUrl: 'https://files.example.test/base' },
      storages: { media: { driver: 'local', publicBaseUrl: 'https://cdn.example.test' } },
    },
    {},
  );
  const allowed = hostMatcher(config);

  it('accepts loopback names and public base URL hosts, with any port', () => {
    for (const host of [
      'localhost',
      'localhost:8080',
      '127.0.0.1:1',
      '127.1.2.3',
      '[::1]:8080',
      'FILES.example.test',
      'cdn.example.test:443',
      'stowage.example.test',
    ])
      expect(allowed(host), host).toBe(true);
  });

  it('refuses any other name, including loopback look-alikes', () => {
    for (const host of [
      'attacker.example',
      'localhost.attacker.example',
      '127.0.0.1.attacker.example:8080',
      'localhost.',
      '[::2]:8080',
      '0.0.0.0:8080',
      'files.example.test.evil',
      '',
    ])
      expect(allowed(host), host).toBe(false);
  });
});

describe('openAnonymousGrants', () => {
  const storages = { media: { access: 'public' }, docs: { access: 'private' } };

  it('anything beyond reading public storages is open', () => {
    expect(openAnonymousGrants(['media:read'], storages)).toEqual([]);
    expect(openAnonymousGrants(['*:read'], { media: { access: 'public' } })).toEqual([]);
    expect(openAnonymousGrants(['*:read', 'docs:read', 'media:list', 'media:*'], storages)).toEqual([
      '*:read',
      'docs:read',
      'media:list',
      'media:*',
    ]);
  });
});

describe('tokenRefusal', () => {
  it("names the failed check for the client and keeps jose's code and reason for the log", () => {
    const refusal = tokenRefusal(
      Object.assign(new Error('unexpected "aud" claim value'), {
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        claim: 'aud',
        reason: 'check_failed',
      }),
    );
    expect(refusal).toEqual({
      message: 'the token is not meant for this service (audience)',
      diagnostic: 'ERR_JWT_CLAIM_VALIDATION_FAILED (aud: check_failed): unexpected "aud" claim value',
    });
    expect(
      tokenRefusal({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'sub', reason: 'missing' }).message,
    ).toBe('the token has no sub claim');
    expect(tokenRefusal(new Error('odd')).message).toBe('the token is malformed');
  });

  it('client messages can be quoted in WWW-Authenticate (no " or \\)', () => {
    for (const code of [
      'ERR_JWT_EXPIRED',
      'ERR_JOSE_ALG_NOT_ALLOWED',
      'ERR_JWS_INVALID',
      'ERR_JWKS_NO_MATCHING_KEY',
    ])
      expect(tokenRefusal({ code }).message).not.toMatch(/["\\]/);
  });
});
