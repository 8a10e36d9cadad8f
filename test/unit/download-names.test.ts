import { describe, expect, it } from 'vitest';
import { asciiFallback, dispositionHeader } from '../../src/storage/disposition.ts';

describe('download names', () => {
  it('spell non-ASCII names readably in ASCII for clients that only read filename=', () => {
    expect(asciiFallback('Überweisung März.pdf')).toBe('Uberweisung Marz.pdf');
    expect(asciiFallback('отчёт.pdf')).toBe('otchet.pdf');
    expect(asciiFallback('北京.jpg')).toBe('BeiJing.jpg');
    expect(asciiFallback('a\u0301b.txt')).toBe('ab.txt'); // decomposed accents too
    // Characters that break a path or a shell on the way become "_"; nothing stays empty.
    expect(asciiFallback('😀 "x"/y.png')).toBe('_grinning_ _x__y.png');
    expect(asciiFallback('\u200b')).toBe('download');
  });

  it('keep filename* exact and ASCII names unchanged', () => {
    expect(dispositionHeader('Überweisung März.pdf', 'attachment')).toBe(
      `attachment; filename="Uberweisung Marz.pdf"; filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf`,
    );
    expect(dispositionHeader('report.pdf', 'inline')).toBe('inline; filename=report.pdf');
  });
});
