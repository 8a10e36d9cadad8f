import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import {
  chooseExtension,
  generateKey,
  sanitizeFilename,
  validateKey,
  validatePrefix,
} from '../../src/storage/keys.ts';

describe('generated keys', () => {
  it('are 128 random bits in hex plus a safe extension', () => {
    expect(generateKey('png')).toMatch(/^[0-9a-f]{32}\.png$/);
    expect(generateKey()).toMatch(/^[0-9a-f]{32}$/);
    const many = new Set(Array.from({ length: 10_000 }, () => generateKey()));
    expect(many.size).toBe(10_000);
  });

  it('take the extension from the sniffed type first, else from the stored type', () => {
    expect(chooseExtension('png', 'image/png', 'photo.jpg')).toBe('png');
    expect(chooseExtension(undefined, 'text/plain', 'notes.LOG')).toBe('log');
    expect(chooseExtension(undefined, 'text/plain', 'run.sh')).toBe('txt');
    expect(chooseExtension(undefined, 'text/csv', undefined)).toBe('csv');
    expect(chooseExtension(undefined, 'application/json', 'data.json')).toBe('json');
    expect(chooseExtension('exe$', 'application/x-msdownload', 'x.exe')).toBeUndefined();
  });

  it('never take an extension from the filename for content of an unrecognised, unlisted type', () => {
    for (const [type, name] of [
      ['text/html', 'page.html'],
      ['image/svg+xml', 'logo.svg'],
      ['text/javascript', 'app.js'],
      ['application/octet-stream', 'setup.exe'],
      ['application/x-sh', 'install.sh'],
      ['application/octet-stream', 'report.PDF'],
    ] as const)
      expect(chooseExtension(undefined, type, name), name).toBeUndefined();
  });
});

describe('filenames', () => {
  it('are NFC, without control or bidi-override characters, without path parts', () => {
    expect(sanitizeFilename('Cafe\u0301.txt')).toBe('Café.txt');
    expect(sanitizeFilename('a\u0000b\r\nc.txt')).toBe('abc.txt');
    expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFilename('C:\\fakepath\\photo.png')).toBe('photo.png');
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('..')).toBeUndefined();
    expect(sanitizeFilename('   ')).toBeUndefined();
    expect(sanitizeFilename(undefined)).toBeUndefined();
    expect([...(sanitizeFilename('é'.repeat(400)) ?? '')]).toHaveLength(255);
    // Four-byte characters: bounded by bytes so the percent-encoded name fits S3's 2 KB of metadata.
    const emoji = sanitizeFilename('😀'.repeat(255)) ?? '';
    expect([...emoji]).toHaveLength(128);
    expect(encodeURIComponent(emoji).length).toBeLessThanOrEqual(1536);
  });
});

describe('caller-chosen keys', () => {
  const rejects = (key: string) => {
    try {
      validateKey(key);
    } catch (error) {
      return error instanceof AppError && error.code === 'INVALID_KEY';
    }
    return false;
  };

  it('accepts ordinary nested keys', () => {
    for (const key of ['a', 'reports/2026/11/q4.pdf', 'ünïcödé/名前.txt', 'a.b/c..d/e', '%2e%2e/literal']) {
      expect(validateKey(key)).toBe(key);
    }
  });

  it('refuses traversal, empty segments, control characters, backslashes and oversize keys', () => {
    const bad = [
      '',
      '.',
      '..',
      '../x',
      'a/../b',
      'a/./b',
      'a//b',
      '/abs',
      'trailing/',
      'nul\u0000',
      'cr\r\nlf',
      'back\\slash',
      'x'.repeat(1025),
      'é'.repeat(513),
      'e\u0301',
    ];
    for (const key of bad) expect(rejects(key), JSON.stringify(key)).toBe(true);
    expect(rejects('x'.repeat(1024))).toBe(false);
  });

  it("refuses the resumable uploads' state area, which an empty-prefix storage would otherwise reach", () => {
    expect(rejects('.stowage-resumable')).toBe(true);
    expect(rejects('.stowage-resumable/users/1/tail-00001')).toBe(true);
    expect(rejects('.stowage-resumable-not/x')).toBe(false);
    expect(rejects('docs/.stowage-resumable/x')).toBe(false);
  });

  it('prefixes may be empty or end with a slash, with the same rules otherwise', () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('reports/')).toBe('reports/');
    expect(() => validatePrefix('../')).toThrow(AppError);
  });
});
