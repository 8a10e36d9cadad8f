import anyAscii from 'any-ascii';
import { create, parse } from 'content-disposition';
import { essence, isSafeInline } from './content-type.ts';

/**
 * Content-Disposition headers: made once per upload (stored with the object) or per link (a
 * download filename), and decided again at every read, because what a header said when it was made
 * may no longer fit the object: a key can be overwritten (or deleted and re-uploaded) with HTML
 * after a link to a harmless text file was signed (stored XSS through an old link, issue 12).
 */

export type DispositionType = 'inline' | 'attachment';

const NOT_ASCII = /[^\x20-\x7e]/;

/**
 * A header naming a download (RFC 6266). A non-ASCII name travels exactly in `filename*` (RFC 5987),
 * which browsers read; `filename`, all that curl -J and other plain clients read, gets a readable
 * ASCII spelling of it (content-disposition's own fallback is a `?` per character).
 */
export const dispositionHeader = (filename: string, type: DispositionType): string =>
  create(filename, NOT_ASCII.test(filename) ? { type, fallback: asciiFallback(filename) } : { type });

/**
 * "Ünïcödé ファイル.png" → "Unicode fuairu.png": any-ascii transliterates every script (CJK, kana,
 * Cyrillic, Arabic, emoji…) from tables; characters that Windows or a shell would trip over
 * become `_`, and so does anything still outside printable ASCII.
 */
export function asciiFallback(filename: string): string {
  const ascii = anyAscii(filename.normalize('NFC'))
    .replace(/[^\x20-\x7e]|["\\/:*?<>|%]/g, '_')
    .trim();
  return ascii === '' ? 'download' : ascii;
}

/** The header's type, lower-cased; a header that cannot be read counts as `attachment`. */
function read(header: string): { type: string; filename: string | undefined } {
  try {
    const { type, parameters } = parse(header);
    return { type: type.toLowerCase(), filename: parameters.filename };
  } catch {
    return { type: 'attachment', filename: undefined };
  }
}

/**
 * The Content-Disposition to serve an object with, from its current type. A link's `override` may
 * rename the download and narrow inline to attachment, never widen: the result is `attachment`
 * when the type is not inline-safe or when either header says attachment. Undefined when neither
 * header exists and inline is fine (the browser's default).
 */
export function servedDisposition(
  contentType: string,
  stored: string | undefined,
  override?: string,
): string | undefined {
  const chosen = override ?? stored;
  const inline =
    isSafeInline(essence(contentType) ?? '') &&
    [stored, override].every((header) => header === undefined || read(header).type === 'inline');
  if (inline) return chosen;
  if (chosen === undefined) return 'attachment';
  const { type, filename } = read(chosen);
  if (type === 'attachment') return chosen;
  return filename === undefined ? 'attachment' : dispositionHeader(filename, 'attachment');
}
