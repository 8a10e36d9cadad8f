import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { expandOwnerPrefix, listPrefixInScope, requireInScope } from '../../src/auth/authorize.ts';
import { grants, grantsFromClaim } from '../../src/auth/grants.ts';
import { thrownCode } from '../support/error-code.ts';

describe('grants', () => {
  it('match storage and action with wildcards on either side', () => {
    expect(grants(['media:write'], 'media', 'write')).toBe(true);
    expect(grants(['media:write'], 'media', 'read')).toBe(false);
    expect(grants(['media:write'], 'docs', 'write')).toBe(false);
    expect(grants(['*:read'], 'docs', 'read')).toBe(true);
    expect(grants(['docs:*'], 'docs', 'sign')).toBe(true);
    expect(grants(['*:*'], 'anything', 'delete')).toBe(true);
    expect(grants([], 'media', 'read')).toBe(false);
  });

  it('come from a space-separated scope or an array, ignoring what is not a grant', () => {
    expect(grantsFromClaim('openid media:write  docs:read profile')).toEqual(['media:write', 'docs:read']);
    expect(grantsFromClaim(['media:*', 42, 'x'])).toEqual(['media:*']);
    expect(grantsFromClaim(undefined)).toEqual([]);
    expect(grantsFromClaim('MEDIA:write media:admin')).toEqual([]);
  });
});

describe('owner prefixes', () => {
  it('expand from token claims', () => {
    expect(expandOwnerPrefix('users/{sub}/', { sub: 'alice' })).toBe('users/alice/');
    expect(expandOwnerPrefix('t/{tenant}/u/{sub}/', { sub: 'a@b.example', tenant: 7 })).toBe(
      't/7/u/a@b.example/',
    );
  });

  it('refuse claims that could escape or are missing', () => {
    for (const sub of ['../bob', 'a/b', '..', '', 'x'.repeat(200), undefined, { nested: 1 }]) {
      expect(
        thrownCode(() => expandOwnerPrefix('users/{sub}/', { sub })),
        String(sub),
      ).toBe('FORBIDDEN');
    }
  });

  it('confine keys and listings', () => {
    const scope = { keyPrefix: 'users/alice/' };
    expect(requireInScope(scope, 'users/alice/x.png')).toBe('users/alice/x.png');
    expect(thrownCode(() => requireInScope(scope, 'users/bob/x.png'))).toBe('FORBIDDEN');
    expect(thrownCode(() => requireInScope(scope, 'users/alice'))).toBe('FORBIDDEN');
    expect(listPrefixInScope(scope, '')).toBe('users/alice/');
    expect(listPrefixInScope(scope, 'users/')).toBe('users/alice/');
    expect(listPrefixInScope(scope, 'users/alice/2026/')).toBe('users/alice/2026/');
    expect(thrownCode(() => listPrefixInScope(scope, 'users/bob/'))).toBe('FORBIDDEN');
    expect(requireInScope({ keyPrefix: '' }, 'anything')).toBe('anything');
  });
});

describe('API keys', () => {
  it('are 256-bit random tokens, stored only as SHA-256', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^stw_[\w-]{43}$/);
    expect(generateApiKey()).not.toBe(key);
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
