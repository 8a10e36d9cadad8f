import { describe, expect, it } from 'vitest';
import {
  decodeUploadId,
  encodeUploadId,
  keyFor,
  newWriteId,
  type UploadTicket,
} from '../../src/storage/resumable/upload-id.ts';

/** Upload ids are the only per-upload state an instance needs: they must round-trip and resist tampering. */
const key = keyFor('a-server-secret-of-at-least-32-characters');
const ticket: UploadTicket = {
  storage: 'media',
  key: 'users/42/3f0c9a0b1c2d3e4f5a6b7c8d9e0f1a2b.pdf',
  principal: 'jwt:42',
  length: 5 * 1024 ** 3,
  partSize: 8 * 1024 ** 2,
  expiresAt: Date.UTC(2026, 11, 4),
  filename: 'Grüße – 報告.pdf',
  filetype: 'application/pdf',
  writeId: newWriteId(),
};

describe('upload ids', () => {
  it('round-trip every field, as one URL path segment', () => {
    const id = encodeUploadId(ticket, key);
    expect(id).toMatch(/^u1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(decodeUploadId(id, key)).toEqual(ticket);
  });

  it('round-trip without the optional metadata', () => {
    const { filename: _n, filetype: _t, ...bare } = ticket;
    expect(decodeUploadId(encodeUploadId(bare, key), key)).toEqual(bare);
  });

  it('are refused when signed with another secret', () => {
    const id = encodeUploadId(ticket, keyFor('another-server-secret-of-32-characters!'));
    expect(decodeUploadId(id, key)).toBeUndefined();
  });

  it('are refused when any field is changed (a larger length, another key or principal)', () => {
    const [version, , tag] = encodeUploadId(ticket, key).split('.');
    for (const change of [{ l: 1 }, { k: 'other.pdf' }, { p: 'jwt:43' }]) {
      const wire = JSON.parse(
        Buffer.from(encodeUploadId(ticket, key).split('.')[1] as string, 'base64url').toString(),
      );
      const forged = Buffer.from(JSON.stringify({ ...wire, ...change })).toString('base64url');
      expect(decodeUploadId(`${version}.${forged}.${tag}`, key)).toBeUndefined();
    }
  });

  it('are refused when malformed', () => {
    const id = encodeUploadId(ticket, key);
    for (const bad of ['', 'u1', 'u1..', `u2${id.slice(2)}`, `${id}.x`, id.slice(0, -2), 'u1.e30.AAAA']) {
      expect(decodeUploadId(bad, key)).toBeUndefined();
    }
  });

  it('derive their MAC key under a label: the raw secret is not the key', () => {
    const secret = 'a-server-secret-of-at-least-32-characters';
    expect(keyFor(secret).equals(Buffer.from(secret))).toBe(false);
    expect(keyFor(secret).length).toBe(32);
  });
});
