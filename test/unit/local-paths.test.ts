import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { decodeName, objectLocation, parseKey, segmentName } from '../../src/storage/drivers/local/paths.ts';

const rejected = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent segment', '../x'],
  ['parent inside', 'a/../../x'],
  ['bare parent', '..'],
  ['current segment', './a'],
  ['current inside', 'a/./b'],
  ['empty segment', 'a//b'],
  ['trailing slash', 'a/'],
  ['backslash', 'a\\b'],
  ['windows traversal', '..\\..\\x'],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['carriage return', 'a\rb'],
  ['DEL', 'a\u007fb'],
  ['C1 control', 'a\u0085b'],
  ['lone surrogate', 'a\uD800b'],
  ['1025 ASCII bytes', 'x'.repeat(1025)],
  ['1026 UTF-8 bytes in 513 chars', 'é'.repeat(513)],
  ['a segment longer than a file name', `${'x'.repeat(255)}`],
  ['a directory name longer than a file name', `${'x'.repeat(256)}/y`],
] as const;

const accepted = [
  '%2e%2e',
  '%2e%2e/%2fetc%2fpasswd',
  '..%2f..%2fx',
  'a%00b',
  '...',
  '..a',
  'a..',
  '.hidden',
  'a b/c d',
  'ünï/кириллица/😀.png',
  'C:',
  'x'.repeat(254),
  Array.from({ length: 8 }, () => 'y'.repeat(127)).join('/'), // 1023 bytes
] as const;

describe('parseKey', () => {
  it.each(rejected)('rejects %s with INVALID_KEY', (_, key) => {
    expect(() => parseKey(key)).toThrow(expect.objectContaining({ code: 'INVALID_KEY', status: 400 }));
    expect(() => parseKey(key)).toThrow(AppError);
  });

  it.each(accepted)('takes %j literally, never decoding it', (key) => {
    expect(parseKey(key)).toEqual(key.split('/'));
  });
});

describe('on-disk names', () => {
  it('keep object files and directories apart, so "a" and "a/b" can both exist', () => {
    expect(segmentName('a', true)).toBe('a%');
    expect(segmentName('a', false)).toBe('a');
    // A key segment ending in "%" cannot pose as an object file: its "%" is escaped.
    expect(segmentName('a%', false)).toBe('a%25');
    expect(segmentName('a%', true)).toBe('a%25%');
    expect(segmentName('%2e%2e', false)).toBe('%252e%252e');
  });

  it('decode back to the segment they were made from', () => {
    for (const segment of ['a', 'a%', '%', '%25', '100%25%', '.hidden', '😀', '%2e%2e']) {
      expect(decodeName(segmentName(segment, true), true)).toBe(segment);
      expect(decodeName(segmentName(segment, false), false)).toBe(segment);
      // …and never as the other kind.
      expect(decodeName(segmentName(segment, false), true)).toBeUndefined();
    }
  });

  it('ignore names this driver never writes', () => {
    expect(decodeName('stray.txt', true)).toBeUndefined(); // a file without the mark
    expect(decodeName('a%2f%', true)).toBeUndefined(); // "%" not written as %25
    expect(decodeName('%', true)).toBeUndefined(); // an empty segment
    expect(decodeName('..%', true)).toBeUndefined();
  });

  it('place a key under the object root, directories first', () => {
    const location = objectLocation('/srv/media/objects', ['photos', '2024', 'cat.png']);
    expect(location).toEqual({
      directories: ['photos', '2024'],
      directory: '/srv/media/objects/photos/2024',
      file: '/srv/media/objects/photos/2024/cat.png%',
    });
    expect(objectLocation('/srv/media/objects', parseKey('%2e%2e')).file).toBe(
      '/srv/media/objects/%252e%252e%',
    );
  });
});
