import { create, parse } from 'content-disposition';
import { essence, isSafeInline } from './content-type.ts';

/**
 * Content-Disposition headers: made once per upload (stored with the object) or per link (a
 * download filename), and decided again at every read, because what a header said when it was made
 * may no longer fit the object: a key can be overwritten (or deleted and re-uploaded) with HTML
 * after a link to a harmless text file was signed (stored XSS through an old link, issue 12).
 */

export type DispositionType = 'inline' | 'attachment';

/** A header naming a download (RFC 6266; `filename*` per RFC 5987 for non-ASCII names). */
export const dispositionHeader = (filename: string, type: DispositionType): string =>
  create(filename, { type });

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
