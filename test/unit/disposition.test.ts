import { describe, expect, it } from 'vitest';
import { servedDisposition } from '../../src/storage/disposition.ts';

describe('servedDisposition: decided at read time from the current type', () => {
  it('keeps an inline header for an inline-safe type, the link naming the download', () => {
    expect(servedDisposition('text/plain', 'inline; filename=a.txt')).toBe('inline; filename=a.txt');
    expect(servedDisposition('image/png', 'inline; filename=a.png', 'inline; filename=b.png')).toBe(
      'inline; filename=b.png',
    );
    expect(servedDisposition('text/plain', undefined)).toBeUndefined();
  });

  it('makes anything not inline-safe an attachment, whatever the link or the stored header says', () => {
    expect(servedDisposition('text/html', 'inline; filename=a.txt', 'inline; filename=notes.txt')).toBe(
      'attachment; filename=notes.txt',
    );
    expect(servedDisposition('image/svg+xml', undefined)).toBe('attachment');
    expect(servedDisposition('text/html; charset=utf-8', 'inline')).toBe('attachment');
    expect(servedDisposition('text/html', 'attachment; filename=x.html')).toBe('attachment; filename=x.html');
  });

  it('lets a link narrow (inline → attachment) but never widen', () => {
    expect(servedDisposition('text/plain', 'inline; filename=a.txt', 'attachment; filename=a.txt')).toBe(
      'attachment; filename=a.txt',
    );
    expect(servedDisposition('text/plain', 'attachment; filename=a.txt', 'inline; filename=b.txt')).toBe(
      'attachment; filename=b.txt',
    );
  });

  it('treats a header whose type is not plainly inline as an attachment', () => {
    expect(servedDisposition('text/plain', '???')).toBe('attachment');
    expect(servedDisposition('text/plain', 'inline', '')).toBe('attachment');
  });
});
