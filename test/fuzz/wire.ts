import { connect } from 'node:net';

/**
 * HTTP/1.1 spoken by hand over a TCP socket, so the corpus can send bytes no HTTP client would:
 * malformed request lines, duplicate or conflicting framing headers, broken chunking, bodies that
 * stop early, headers dripped slowly. The answer is parsed just enough to judge it (status line,
 * headers, a Content-Length or chunked body); anything else the server does is reported as it is.
 */

/** A request on the wire: bytes to write, pauses between them, and what the client does at the end. */
export interface WireRequest {
  readonly parts: ReadonlyArray<Buffer | { pauseMs: number }>;
  /**
   * After the last part: `wait` keeps the socket open for the answer (the default); `half-close`
   * sends FIN and still reads; `destroy` drops the connection at once (a client that vanished).
   */
  readonly finish?: 'wait' | 'half-close' | 'destroy';
  /**
   * Keep reading this long after the first response, for a second one that must not come (a
   * smuggled request read from a body); what arrives is the answer's `extra`.
   */
  readonly lingerMs?: number;
}

export interface WireAnswer {
  /**
   * `response`: a complete (or closed-while-reading) HTTP response was read; `closed`: the server
   * closed the connection without a status line; `timeout`: nothing decisive within the deadline;
   * `client-gone`: the client dropped the connection itself (`finish: 'destroy'`).
   */
  readonly outcome: 'response' | 'closed' | 'timeout' | 'client-gone';
  readonly status?: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Interim (1xx) statuses before the response, e.g. 100 Continue. */
  readonly interim: readonly number[];
  /** Bytes after the first response (read while lingering). */
  readonly extra: Buffer;
  readonly ms: number;
}

export async function exchange(port: number, request: WireRequest, timeoutMs: number): Promise<WireAnswer> {
  const started = Date.now();
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const received: Buffer[] = [];
  let settle: (answer: WireAnswer) => void = () => {};
  const answered = new Promise<WireAnswer>((resolve) => {
    settle = resolve;
  });
  let lingering: NodeJS.Timeout | undefined;
  const finish = (outcome: WireAnswer['outcome'], atEnd: boolean) => {
    socket.destroy();
    clearTimeout(lingering);
    const data = Buffer.concat(received);
    const parsed = outcome === 'client-gone' ? undefined : parseResponse(data, atEnd);
    settle({
      outcome: outcome === 'closed' && parsed ? 'response' : outcome,
      ...(parsed && { status: parsed.status }),
      headers: parsed?.headers ?? {},
      body: parsed?.body ?? Buffer.alloc(0),
      interim: parsed?.interim ?? [],
      extra: parsed?.end === undefined ? Buffer.alloc(0) : data.subarray(parsed.end),
      ms: Date.now() - started,
    });
  };
  const timer = setTimeout(() => finish('timeout', true), timeoutMs);
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    if (lingering || !parseResponse(Buffer.concat(received), false)?.complete) return;
    if (request.lingerMs) lingering = setTimeout(() => finish('response', false), request.lingerMs);
    else finish('response', false);
  });
  socket.on('error', () => {}); // EPIPE/ECONNRESET while writing: the server hung up; 'close' reports it.
  // The socket is half-open capable (so a case can send FIN and still read): the server's FIN is
  // 'end', not 'close', and it means the answer is over.
  socket.on('end', () => finish('closed', true));
  socket.on('close', () => finish('closed', true));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => resolve());
  });
  for (const part of request.parts) {
    if (socket.destroyed) break;
    if (Buffer.isBuffer(part)) {
      if (!socket.write(part)) await Promise.race([once(socket, 'drain'), answered]);
    } else {
      await Promise.race([sleep(part.pauseMs), answered]);
    }
  }
  if (request.finish === 'destroy' && !socket.destroyed) finish('client-gone', true);
  else if (request.finish === 'half-close' && !socket.destroyed) socket.end();
  const answer = await answered;
  clearTimeout(timer);
  return answer;
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  complete: boolean;
  interim: number[];
  /** Where the response ends in the data, when its framing says so. */
  end?: number;
}

/**
 * The first response in `data` (after any interim 1xx ones), or undefined before its head is
 * complete. `atEnd`: the connection is over, so a body without framing ends here.
 */
export function parseResponse(
  data: Buffer,
  atEnd: boolean,
  offset = 0,
  interim: number[] = [],
): Parsed | undefined {
  const headEnd = data.indexOf('\r\n\r\n', offset);
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(offset, headEnd).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(match[1]);
  const start = headEnd + 4;
  const rest = data.subarray(start);
  if (status >= 100 && status < 200 && status !== 101)
    return parseResponse(data, atEnd, start, [...interim, status]);
  const done = (body: Buffer, complete: boolean, end?: number): Parsed => ({
    status,
    headers,
    body,
    complete,
    interim,
    ...(end !== undefined && { end }),
  });
  if (status === 204 || status === 304 || status === 101) return done(Buffer.alloc(0), true, start);
  const length = headers['content-length'];
  if (length !== undefined) {
    const size = Number(length);
    return done(rest.subarray(0, size), rest.length >= size, rest.length >= size ? start + size : undefined);
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const decoded = dechunk(rest);
    return done(decoded.body, decoded.complete);
  }
  return done(rest, atEnd);
}

function dechunk(data: Buffer): { body: Buffer; complete: boolean } {
  const pieces: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return { body: Buffer.concat(pieces), complete: false };
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(pieces), complete: false };
    if (size === 0) return { body: Buffer.concat(pieces), complete: data.indexOf('\r\n', lineEnd + 2) >= 0 };
    if (data.length < lineEnd + 2 + size + 2) return { body: Buffer.concat(pieces), complete: false };
    pieces.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const once = (socket: NodeJS.EventEmitter, event: string) =>
  new Promise((resolve) => socket.once(event, resolve));

type HeaderList = ReadonlyArray<readonly [string, string]>;

/**
 * A request head as bytes, exactly as given: Host and `Connection: close` first (unless `bare`),
 * then the headers in order, duplicates and all. Nothing is validated or normalised.
 */
export function head(
  requestLine: string,
  headers: HeaderList = [],
  options: { bare?: boolean; lineEnd?: string } = {},
): Buffer {
  const eol = options.lineEnd ?? '\r\n';
  const all: HeaderList = options.bare
    ? headers
    : [['Host', '127.0.0.1'], ['Connection', 'close'], ...headers];
  return Buffer.from(
    `${requestLine}${eol}${all.map(([name, value]) => `${name}: ${value}${eol}`).join('')}${eol}`,
    'latin1',
  );
}

/** A whole request with a correct Content-Length for `body` (when there is one). */
export function request(method: string, path: string, headers: HeaderList = [], body?: Buffer): Buffer {
  const framing: HeaderList = body === undefined ? [] : [['Content-Length', String(body.length)]];
  return Buffer.concat([
    head(`${method} ${path} HTTP/1.1`, [...headers, ...framing]),
    body ?? Buffer.alloc(0),
  ]);
}
