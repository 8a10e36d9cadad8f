import { describe, expect, it } from 'vitest';
import {
  directKeyFor,
  finalStem,
  issueKey,
  type KeyBinding,
  MAX_FILENAME_BYTES,
  verifyIssuedKey,
} from '../../src/storage/direct/issued-key.ts';
import { DIRECT_STAGING_PREFIX, validateKey } from '../../src/storage/keys.ts';
import { keyFor } from '../../src/storage/resumable/upload-id.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const mac = directKeyFor(SECRET);
const binding: KeyBinding = { storage: 'media', principal: 'jwt:user-42', keyPrefix: 'users/42/' };
const declared = {
  expiresAt: 1_900_000_000_000,
  size: 1234,
  contentType: 'image/png',
  filename: 'Grüße.png',
};

describe('issued direct-upload keys', () => {
  it('say what was declared, and name the final key', () => {
    const issued = issueKey(declared, binding, mac);
    expect(issued.key.startsWith(`${DIRECT_STAGING_PREFIX}${issued.id}.`)).toBe(true);
    expect(issued.id).toMatch(/^[0-9a-f]{32}$/);
    expect(verifyIssuedKey(issued.key, binding, mac)).toEqual(issued);
    expect(issued).toMatchObject(declared);
    expect(finalStem(issued, binding)).toBe(`users/42/${issued.id}`);
  });

  it('are good only for the storage, principal and scope they were issued to', () => {
    const { key } = issueKey(declared, binding, mac);
    for (const other of [
      { ...binding, storage: 'docs' },
      { ...binding, principal: 'jwt:user-43' },
      { ...binding, keyPrefix: 'users/43/' },
    ])
      expect(verifyIssuedKey(key, other, mac)).toBeUndefined();
  });

  it('are refused when altered, signed under another label, or malformed', () => {
    const { key } = issueKey(declared, binding, mac);
    const [head, payload, tag] = key.split('.');
    const later = Buffer.from(
      Buffer.from(payload ?? '', 'base64url')
        .toString()
        .replace('1900000000000', '1990000000000'),
    ).toString('base64url');
    expect(verifyIssuedKey([head, later, tag].join('.'), binding, mac)).toBeUndefined();
    const otherId = key.replace(/^(\.stowage-direct\/)[0-9a-f]/, (_, prefix: string) => `${prefix}x`);
    expect(verifyIssuedKey(otherId, binding, mac)).toBeUndefined();
    // The same secret under the resumable label does not verify a direct key.
    expect(verifyIssuedKey(key, binding, keyFor(SECRET))).toBeUndefined();
    expect(verifyIssuedKey(key.slice(DIRECT_STAGING_PREFIX.length), binding, mac)).toBeUndefined();
    expect(verifyIssuedKey(`${key}.x`, binding, mac)).toBeUndefined();
  });

  it('stay far below S3’s 1,024-byte keys: a long filename is cut on a character boundary', () => {
    const filename = `${'名'.repeat(200)}.png`;
    const issued = issueKey(
      { ...declared, filename, contentType: `application/${'x'.repeat(120)}` },
      binding,
      mac,
    );
    expect(Buffer.byteLength(issued.filename ?? '')).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(issued.filename).toBe('名'.repeat(66));
    expect(Buffer.byteLength(issued.key)).toBeLessThan(700);
  });

  it('are staging keys, which no client may use as an object key', () => {
    const { key } = issueKey(declared, binding, mac);
    expect(() => validateKey(key)).toThrow(/reserved for Stowage/);
    expect(() => validateKey('.stowage-direct')).toThrow(/reserved for Stowage/);
    expect(validateKey('.stowage-directory/x')).toBe('.stowage-directory/x');
  });
});
