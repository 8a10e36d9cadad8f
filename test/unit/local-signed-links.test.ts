import { describe, expect, it } from 'vitest';
import { createLinkSigner, type SignedLink } from '../../src/storage/drivers/local/signed-links.ts';
import { encodeKeyPath, readLinkQuery, signedLinkUrl } from '../../src/storage/drivers/local/urls.ts';

const SECRET = 'current-secret-0123456789-abcdefghij';
const OLD_SECRET = 'previous-secret-0123456789-abcdefgh';
const NOW = Date.UTC(2026, 0, 1) as number;
const EXPIRES = NOW / 1000 + 600;

const signed = (signer = createLinkSigner({ secret: SECRET }), disposition?: string): SignedLink => ({
  storage: 'media',
  key: 'photos/cat.png',
  expiresAtEpochSeconds: EXPIRES,
  disposition,
  signature: signer.sign('media', 'photos/cat.png', EXPIRES, disposition),
});

describe('link signatures', () => {
  const signer = createLinkSigner({ secret: SECRET });

  it('are deterministic base64url HMAC-SHA256 and verify', () => {
    const link = signed(signer);
    expect(link.signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signer.sign('media', 'photos/cat.png', EXPIRES)).toBe(link.signature);
    expect(signer.verify(link, NOW)).toBe(true);
    expect(signer.verify(signed(signer, 'attachment; filename="cat.png"'), NOW)).toBe(true);
  });

  it('fail when any signed field is changed', () => {
    const link = signed(signer, 'inline');
    expect(signer.verify({ ...link, storage: 'private' }, NOW)).toBe(false);
    expect(signer.verify({ ...link, key: 'photos/dog.png' }, NOW)).toBe(false);
    expect(signer.verify({ ...link, key: 'photos/cat.png ' }, NOW)).toBe(false);
    expect(signer.verify({ ...link, expiresAtEpochSeconds: EXPIRES + 1 }, NOW)).toBe(false);
    expect(signer.verify({ ...link, disposition: 'attachment' }, NOW)).toBe(false);
    expect(signer.verify({ ...link, disposition: undefined }, NOW)).toBe(false);
    expect(signer.verify({ ...signed(signer), disposition: '' }, NOW)).toBe(false);
  });

  it('fail when the signature is tampered with, truncated, extended or re-encoded', () => {
    const link = signed(signer);
    const flip = (text: string, index: number) =>
      text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
    expect(signer.verify({ ...link, signature: flip(link.signature, 0) }, NOW)).toBe(false);
    // The last character carries 2 padding bits: a decoder would ignore them, the comparison does not.
    for (const last of 'AEIMQUYcgkosw048') {
      const variant = link.signature.slice(0, -1) + last;
      if (variant !== link.signature) expect(signer.verify({ ...link, signature: variant }, NOW)).toBe(false);
    }
    expect(signer.verify({ ...link, signature: link.signature.slice(0, -1) }, NOW)).toBe(false);
    expect(signer.verify({ ...link, signature: `${link.signature}=` }, NOW)).toBe(false);
    expect(signer.verify({ ...link, signature: '' }, NOW)).toBe(false);
  });

  it('cannot be moved between fields (storage "a", key "b/c" ≠ storage "a/b", key "c")', () => {
    const signature = signer.sign('a', 'b/c', EXPIRES);
    expect(signer.verify({ storage: 'a/b', key: 'c', expiresAtEpochSeconds: EXPIRES, signature }, NOW)).toBe(
      false,
    );
  });

  it('expire at their expiry second', () => {
    const link = signed(signer);
    expect(signer.verify(link, EXPIRES * 1000 - 1)).toBe(true);
    expect(signer.verify(link, EXPIRES * 1000)).toBe(false);
  });

  it('are checked against the real clock by default', () => {
    const now = Math.floor(Date.now() / 1000);
    const link = (expires: number) => ({
      storage: 'media',
      key: 'k',
      expiresAtEpochSeconds: expires,
      signature: signer.sign('media', 'k', expires),
    });
    expect(signer.verify(link(now + 60))).toBe(true);
    expect(signer.verify(link(now - 1))).toBe(false);
  });

  it('reject malformed expiries', () => {
    const link = signed(signer);
    for (const expires of [Number.NaN, Number.POSITIVE_INFINITY, EXPIRES + 0.5])
      expect(signer.verify({ ...link, expiresAtEpochSeconds: expires }, NOW)).toBe(false);
    expect(() => signer.sign('media', 'k', 1.5)).toThrow();
  });
});

describe('secret rotation', () => {
  it('accepts links signed with the previous secret and signs only with the current one', () => {
    const before = createLinkSigner({ secret: OLD_SECRET });
    const after = createLinkSigner({ secret: SECRET, previousSecret: OLD_SECRET });
    expect(after.verify(signed(before), NOW)).toBe(true);
    expect(after.verify(signed(after), NOW)).toBe(true);
    expect(before.verify(signed(after), NOW)).toBe(false);
    expect(after.sign('media', 'k', EXPIRES)).toBe(
      createLinkSigner({ secret: SECRET }).sign('media', 'k', EXPIRES),
    );
  });

  it('drops the old secret once it is no longer configured', () => {
    const before = createLinkSigner({ secret: OLD_SECRET });
    expect(createLinkSigner({ secret: SECRET }).verify(signed(before), NOW)).toBe(false);
  });

  it('refuses short secrets and makes a random one when none is given', () => {
    expect(() => createLinkSigner({ secret: 'short' })).toThrow(/32/);
    expect(() => createLinkSigner({ secret: SECRET, previousSecret: 'short' })).toThrow(/32/);
    const first = createLinkSigner();
    const second = createLinkSigner({ secret: undefined });
    expect(first.verify(signed(first), NOW)).toBe(true);
    expect(second.verify(signed(first), NOW)).toBe(false);
  });
});

describe('link URLs', () => {
  const signer = createLinkSigner({ secret: SECRET });

  it('encode each key segment and carry the signed fields in the query', () => {
    const key = 'docs/q3 report/ünï 100%.pdf';
    const url = new URL(
      signedLinkUrl(signer, {
        baseUrl: 'https://files.example.com',
        storage: 'media',
        key,
        expiresAtEpochSeconds: EXPIRES,
        disposition: 'attachment; filename="r.pdf"',
      }),
    );
    expect(url.origin + url.pathname).toBe(`https://files.example.com/v1/links/media/${encodeKeyPath(key)}`);
    expect(url.pathname).toBe('/v1/links/media/docs/q3%20report/%C3%BCn%C3%AF%20100%25.pdf');
    expect([...url.searchParams.keys()]).toEqual(['expires', 'disposition', 'signature']);

    // What the route does: decode the path once, rebuild the link from the query, verify.
    const decodedKey = url.pathname.split('/').slice(4).map(decodeURIComponent).join('/');
    expect(decodedKey).toBe(key);
    const link = readLinkQuery('media', decodedKey, url.searchParams);
    expect(link).toBeDefined();
    expect(link && signer.verify(link, NOW)).toBe(true);
  });

  it('omit the disposition when there is none', () => {
    const url = new URL(
      signedLinkUrl(signer, { baseUrl: '', storage: 'media', key: 'a', expiresAtEpochSeconds: EXPIRES }),
      'http://x',
    );
    expect(url.searchParams.has('disposition')).toBe(false);
    const link = readLinkQuery('media', 'a', Object.fromEntries(url.searchParams));
    expect(link?.disposition).toBeUndefined();
    expect(link && signer.verify(link, NOW)).toBe(true);
  });

  it('are unreadable without expires and signature, or with a non-numeric expiry', () => {
    expect(readLinkQuery('media', 'a', { signature: 'x' })).toBeUndefined();
    expect(readLinkQuery('media', 'a', { expires: '1' })).toBeUndefined();
    expect(readLinkQuery('media', 'a', { expires: '1e9', signature: 'x' })).toBeUndefined();
    expect(readLinkQuery('media', 'a', { expires: ['1', '2'], signature: 'x' })).toBeUndefined();
  });
});
