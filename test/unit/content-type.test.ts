import { describe, expect, it } from 'vitest';
import { essence, isAllowed, isSafeInline, resolveContentType } from '../../src/storage/content-type.ts';
import { thrownCode } from '../support/error-code.ts';

const sniffable = new Set(['image/png', 'image/jpeg', 'application/pdf', 'image/gif']);
const png = { mime: 'image/png', ext: 'png' };

describe('content types', () => {
  it('normalises declared types', () => {
    expect(essence('Image/PNG; charset=binary')).toBe('image/png');
    expect(essence('not a type')).toBeUndefined();
    expect(essence(undefined)).toBeUndefined();
  });

  it('matches the allowlist exactly or by wildcard', () => {
    expect(isAllowed('image/png', ['image/*'])).toBe(true);
    expect(isAllowed('image/png', ['image/jpeg'])).toBe(false);
    expect(isAllowed('imagex/png', ['image/*'])).toBe(false);
    expect(isAllowed('text/plain', [])).toBe(true);
    expect(isAllowed('text/plain', ['*/*'])).toBe(true);
  });

  it('stores what the bytes are, not what the client says', () => {
    const resolve = (declared: string | undefined) =>
      resolveContentType({ declared, sniffed: png, sniffable, allowed: [] });
    expect(resolve('application/octet-stream')).toBe('image/png');
    expect(resolve(undefined)).toBe('image/png');
    expect(resolve('image/jpeg')).toBe('image/png');
  });

  it('refuses a recognisable type whose bytes do not match (HTML posing as PNG)', () => {
    expect(
      thrownCode(() =>
        resolveContentType({ declared: 'image/png', sniffed: undefined, sniffable, allowed: ['image/*'] }),
      ),
    ).toBe('CONTENT_TYPE_MISMATCH');
    // Aliases count as the same type.
    expect(
      thrownCode(() =>
        resolveContentType({ declared: 'image/jpg', sniffed: undefined, sniffable, allowed: [] }),
      ),
    ).toBe('CONTENT_TYPE_MISMATCH');
  });

  it('keeps declared types it cannot verify (text formats), and falls back to octet-stream', () => {
    expect(resolveContentType({ declared: 'text/csv', sniffed: undefined, sniffable, allowed: [] })).toBe(
      'text/csv',
    );
    expect(resolveContentType({ declared: undefined, sniffed: undefined, sniffable, allowed: [] })).toBe(
      'application/octet-stream',
    );
  });

  it('enforces the allowlist on the effective and on the declared type', () => {
    // PNG bytes declared as PNG into a PDF-only storage.
    expect(
      thrownCode(() =>
        resolveContentType({ declared: 'image/png', sniffed: png, sniffable, allowed: ['application/pdf'] }),
      ),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    // Text declared as an image.
    expect(
      thrownCode(() =>
        resolveContentType({ declared: 'text/html', sniffed: undefined, sniffable, allowed: ['image/*'] }),
      ),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    // PNG bytes declared as text into an image storage: the client claims a type the storage refuses.
    expect(
      thrownCode(() =>
        resolveContentType({ declared: 'text/plain', sniffed: png, sniffable, allowed: ['image/*'] }),
      ),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(
      resolveContentType({
        declared: 'application/octet-stream',
        sniffed: png,
        sniffable,
        allowed: ['image/*'],
      }),
    ).toBe('image/png');
  });

  it('only serves inert types inline', () => {
    for (const type of ['image/png', 'image/jpeg', 'video/mp4', 'application/pdf', 'text/plain'])
      expect(isSafeInline(type), type).toBe(true);
    for (const type of [
      'text/html',
      'image/svg+xml',
      'application/xml',
      'text/javascript',
      'application/octet-stream',
    ]) {
      expect(isSafeInline(type), type).toBe(false);
    }
  });
});
