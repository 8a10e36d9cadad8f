/**
 * The status line and headers of an HTTP/1.1 response, for the few answers read-connections.ts takes
 * itself (quick-get.ts): anything it cannot frame plainly (no Content-Length, chunked, obsolete line
 * folding, HTTP/1.0) is left to the SDK.
 */

export interface ResponseHead {
  status: number;
  /** Lower-case names; repeated headers joined with ", " (as node:http does for these). */
  headers: Record<string, string>;
  /** The connection may carry another request once this answer's body is read. */
  keepAlive: boolean;
}

/** A head longer than this is not one S3 sends: the SDK reads it. */
export const MAX_HEAD_BYTES = 32 * 1024;

/** Parses a head without its final empty line; undefined for one this path does not take. */
export function parseResponseHead(text: string): ResponseHead | undefined {
  const lines = text.split('\r\n');
  const match = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    // No name, or a folded continuation line (RFC 9112 §5.2: obsolete).
    if (colon <= 0 || line[0] === ' ' || line[0] === '\t') return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  const connection = headers.connection?.toLowerCase() ?? '';
  return { status: Number(match[1]), headers, keepAlive: !/(^|,)\s*close\s*(,|$)/.test(connection) };
}

/** The body's length from Content-Length; undefined when the answer is not framed by one. */
export function contentLength(head: ResponseHead): number | undefined {
  if (head.headers['transfer-encoding'] !== undefined) return undefined;
  const value = head.headers['content-length'];
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
