import { describe, expect, it } from 'vitest';
import {
  decodeOriginalName,
  encodeOriginalName,
  isReservation,
  MAX_METADATA_VALUE_BYTES,
  noneMatchHits,
  parseContentRange,
  quoteEtag,
  reservationExpiry,
  sameEtag,
  toObjectInfo,
  toS3Metadata,
} from '../../src/storage/drivers/s3/metadata.ts';

describe('S3 object metadata', () => {
  it('stores the original name percent-encoded (S3 metadata is ASCII) and reads it back', () => {
    const metadata = toS3Metadata({
      contentType: 'image/png',
      originalName: 'Résumé «final».png',
      sha256: 'ab'.repeat(32),
    });
    expect(metadata).toEqual({
      'original-name': 'R%C3%A9sum%C3%A9%20%C2%ABfinal%C2%BB.png',
      sha256: 'ab'.repeat(32),
    });
    expect(metadata['original-name']).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeOriginalName(metadata['original-name'])).toBe('Résumé «final».png');
  });

  it('bounds the stored name to 256 bytes, cut on a character boundary, and keeps a name that fits whole', () => {
    const cjk = '漢'.repeat(29); // 29 × 9 encoded bytes = 261: over Swift's 256
    const stored = toS3Metadata({ contentType: 'text/plain', originalName: cjk })['original-name'] ?? '';
    expect(stored.length).toBeLessThanOrEqual(MAX_METADATA_VALUE_BYTES);
    expect(decodeOriginalName(stored)).toBe('漢'.repeat(28));
    expect(decodeOriginalName(encodeOriginalName('漢'.repeat(28)))).toBe('漢'.repeat(28));
    // Astral characters (12 encoded bytes each) are never split into halves.
    const emoji = decodeOriginalName(encodeOriginalName('😀'.repeat(30))) ?? '';
    expect(emoji).toBe('😀'.repeat(21));
    expect(emoji.isWellFormed()).toBe(true);
    // ASCII fills the bound exactly; a lone surrogate cannot make encoding throw.
    expect(encodeOriginalName('a'.repeat(300))).toBe('a'.repeat(256));
    expect(decodeOriginalName(encodeOriginalName('x\uD800y'))).toBe('x\uFFFDy');
  });

  it('returns a malformed encoded name as it is', () => {
    expect(decodeOriginalName('100%')).toBe('100%');
    expect(decodeOriginalName(undefined)).toBeUndefined();
  });

  it('builds ObjectInfo from S3 headers', () => {
    const lastModified = new Date('2026-01-01T00:00:00Z');
    expect(
      toObjectInfo('k', {
        ContentLength: 5,
        ETag: '"abc"',
        LastModified: lastModified,
        ContentType: 'text/plain',
        CacheControl: 'no-cache',
        Metadata: { 'original-name': 'a%20b.txt', sha256: 'ff' },
      }),
    ).toEqual({
      key: 'k',
      size: 5,
      etag: '"abc"',
      lastModified,
      contentType: 'text/plain',
      cacheControl: 'no-cache',
      originalName: 'a b.txt',
      sha256: 'ff',
    });
  });

  it('recognises reservations and their expiry', () => {
    expect(isReservation({ 'stowage-reservation': '123' })).toBe(true);
    expect(isReservation({ 'original-name': 'x' })).toBe(false);
    expect(isReservation(undefined)).toBe(false);
    expect(reservationExpiry({ 'stowage-reservation': '123' })).toBe(123);
    expect(reservationExpiry({ 'stowage-reservation': 'garbage' })).toBe(0);
  });
});

describe('entity tags', () => {
  it('quotes bare tags and keeps quoted and weak ones', () => {
    expect(quoteEtag('abc')).toBe('"abc"');
    expect(quoteEtag('"abc"')).toBe('"abc"');
    expect(quoteEtag('W/"abc"')).toBe('W/"abc"');
  });

  it('compares regardless of quotes', () => {
    expect(sameEtag('"abc"', 'abc')).toBe(true);
    expect(sameEtag('"abc"', '"abd"')).toBe(false);
    expect(sameEtag(undefined, '"abc"')).toBe(false);
  });

  it('evaluates If-None-Match lists with weak comparison', () => {
    expect(noneMatchHits('"a", "b"', '"b"')).toBe(true);
    expect(noneMatchHits('W/"b"', '"b"')).toBe(true);
    expect(noneMatchHits('*', '"b"')).toBe(true);
    expect(noneMatchHits('"a"', '"b"')).toBe(false);
    expect(noneMatchHits('', '"b"')).toBe(false);
  });
});

describe('parseContentRange', () => {
  it('parses S3 Content-Range values', () => {
    expect(parseContentRange('bytes 0-9/100')).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, end: 9, total: undefined });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange('bytes */100')).toBeUndefined();
  });
});
