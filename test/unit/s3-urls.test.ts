import { describe, expect, it } from 'vitest';
import { buildPublicUrl, clampExpiry, MAX_PRESIGN_SECONDS } from '../../src/storage/drivers/s3/urls.ts';

const base = { bucket: 'media', region: 'eu-west-1', forcePathStyle: false };

describe('buildPublicUrl', () => {
  it('uses the public base URL (CDN) and encodes each key segment', () => {
    expect(
      buildPublicUrl('uploads/a b/ü#?.png', { ...base, publicBaseUrl: 'https://cdn.example.com/assets/' }),
    ).toBe('https://cdn.example.com/assets/uploads/a%20b/%C3%BC%23%3F.png');
  });

  it('derives the virtual-hosted AWS URL', () => {
    expect(buildPublicUrl('a/b.txt', base)).toBe('https://media.s3.eu-west-1.amazonaws.com/a/b.txt');
  });

  it('uses path-style on AWS when forced or when the bucket name has dots', () => {
    expect(buildPublicUrl('a.txt', { ...base, forcePathStyle: true })).toBe(
      'https://s3.eu-west-1.amazonaws.com/media/a.txt',
    );
    expect(buildPublicUrl('a.txt', { ...base, bucket: 'media.example.com' })).toBe(
      'https://s3.eu-west-1.amazonaws.com/media.example.com/a.txt',
    );
  });

  it('prefers the public endpoint over the internal one', () => {
    const settings = { ...base, endpoint: 'http://internal:9000', publicEndpoint: 'https://s3.example.com/' };
    expect(buildPublicUrl('k', { ...settings, forcePathStyle: true })).toBe('https://s3.example.com/media/k');
    expect(buildPublicUrl('k', settings)).toBe('https://media.s3.example.com/k');
  });

  it('keeps the endpoint port and path', () => {
    expect(
      buildPublicUrl('k', { ...base, endpoint: 'http://127.0.0.1:7480/s3/', forcePathStyle: true }),
    ).toBe('http://127.0.0.1:7480/s3/media/k');
  });
});

describe('clampExpiry', () => {
  const now = Date.UTC(2026, 0, 1);

  it('keeps a valid request and caps at the SigV4 limit of 7 days', () => {
    expect(clampExpiry(900, now)).toBe(900);
    expect(clampExpiry(30 * 24 * 3600, now)).toBe(MAX_PRESIGN_SECONDS);
  });

  it('never outlives temporary credentials', () => {
    expect(clampExpiry(3600, now, new Date(now + 600_500))).toBe(600);
    expect(clampExpiry(300, now, new Date(now + 3_600_000))).toBe(300);
  });

  it('is at least one second', () => {
    expect(clampExpiry(0, now)).toBe(1);
    expect(clampExpiry(3600, now, new Date(now - 1000))).toBe(1);
  });
});
