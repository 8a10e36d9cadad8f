/**
 * multipart/form-data assembled byte by byte, so a case can put a boundary, a header or a CRLF
 * exactly where a broken or hostile client would. `form()` is the well-formed shape; every helper
 * takes raw bytes where a real encoder would have escaped or refused something.
 */

export const CRLF = '\r\n';

export interface RawPart {
  /** Part header lines, joined with CRLF as given (bytes, so they may be invalid UTF-8). */
  readonly headers: Buffer;
  readonly body: Buffer;
}

const bytes = (value: string | Buffer): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');

/** A file part; `filename` as raw bytes (quoted as is, never escaped) or undefined for none at all. */
export function filePart(
  data: Buffer,
  options: { field?: string; filename?: string | Buffer; type?: string } = {},
): RawPart {
  const field = options.field ?? 'file';
  const name = options.filename === undefined ? 'upload.png' : options.filename;
  const disposition = Buffer.concat([
    bytes(`Content-Disposition: form-data; name="${field}"; filename="`),
    bytes(name),
    bytes('"'),
  ]);
  const type = options.type ?? 'image/png';
  return { headers: Buffer.concat([disposition, bytes(`${CRLF}Content-Type: ${type}`)]), body: data };
}

/** A part with the given header lines verbatim. */
export const rawPart = (headerLines: Array<string | Buffer>, body: Buffer | string): RawPart => ({
  headers: Buffer.concat(
    headerLines.flatMap((line, index) => (index === 0 ? [bytes(line)] : [bytes(CRLF), bytes(line)])),
  ),
  body: bytes(body),
});

/** A plain (non-file) field. */
export const fieldPart = (name: string, value: string | Buffer): RawPart =>
  rawPart([`Content-Disposition: form-data; name="${name}"`], value);

/**
 * A multipart body: `--boundary CRLF headers CRLF CRLF body CRLF` per part, then `--boundary--`
 * (unless `close` is false). `preamble` goes before the first delimiter.
 */
export function form(
  boundary: string,
  parts: readonly RawPart[],
  options: { close?: boolean; preamble?: string } = {},
): Buffer {
  const pieces: Buffer[] = [];
  if (options.preamble !== undefined) pieces.push(bytes(`${options.preamble}${CRLF}`));
  for (const part of parts) {
    pieces.push(bytes(`--${boundary}${CRLF}`), part.headers, bytes(CRLF + CRLF), part.body, bytes(CRLF));
  }
  if (options.close !== false) pieces.push(bytes(`--${boundary}--${CRLF}`));
  return Buffer.concat(pieces);
}

/** The Content-Type of a form with this boundary. */
export const formType = (boundary: string): string => `multipart/form-data; boundary=${boundary}`;
