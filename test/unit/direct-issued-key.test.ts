import { describe, expect, it } from 'vitest';
import {
  decodeIssuedKey,
  directKeyFor,
  encodeIssuedKey,
  finalStem,
  type IssuedKey,
  newDirectId,
  stagingKey,
} from '../../src/storage/direct/issued-key.ts';
import { DIRECT_STAGING_PREFIX, validateKey } from '../../src/storage/keys.ts';
import { keyFor } from '../../src/storage/resumable/upload-id.ts';

const mac = directKeyFor('a-secret-of-at-least-thirty-two-characters');
const issued: IssuedKey = {
  id: newDirectId(),
  storage: 'media',
  principal: 'jwt:user-42',
  keyPrefix: 'users/42/',
  expiresAt: 1_900_000_000_000,
  size: 1234,
  contentType: 'image/png',
  filename: 'Grüße.png',
};

describe('issued direct-upload keys', () => {
  it('say what they were issued with, and name the staging and final keys', () => {
    const key = encodeIssuedKey(issued, mac);
    expect(key.startsWith(DIRECT_STAGING_PREFIX)).toBe(true);
    expect(decodeIssuedKey(key, mac)).toEqual(issued);
    expect(stagingKey(issued)).toBe(`${DIRECT_STAGING_PREFIX}${issued.id}`);
    expect(finalStem(issued)).toBe(`users/42/${issued.id}`);
  });

  it('are refused when altered, signed under another label or secret, or malformed', () => {
    const key = encodeIssuedKey(issued, mac);
    const [head, payload, tag] = key.split('.');
    const other = Buffer.from(
      Buffer.from(payload ?? '', 'base64url')
        .toString()
        .replace('jwt:user-42', 'jwt:user-43'),
    ).toString('base64url');
    expect(decodeIssuedKey([head, other, tag].join('.'), mac)).toBeUndefined();
    const otherId = `${DIRECT_STAGING_PREFIX}${newDirectId()}.${payload}.${tag}`;
    expect(decodeIssuedKey(otherId, mac)).toBeUndefined();
    // The same secret under the resumable label does not verify a direct key.
    expect(decodeIssuedKey(key, keyFor('a-secret-of-at-least-thirty-two-characters'))).toBeUndefined();
    expect(decodeIssuedKey(key.slice(DIRECT_STAGING_PREFIX.length), mac)).toBeUndefined();
    expect(decodeIssuedKey(`${key}.x`, mac)).toBeUndefined();
  });

  it('staging is a key no client may use', () => {
    expect(() => validateKey(stagingKey(issued))).toThrow(/reserved for Stowage/);
    expect(() => validateKey('.stowage-direct')).toThrow(/reserved for Stowage/);
    expect(validateKey('.stowage-directory/x')).toBe('.stowage-directory/x');
  });
});
