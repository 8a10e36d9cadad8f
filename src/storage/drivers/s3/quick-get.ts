import type { GetInput, GetResult } from '../../driver.ts';
import type { S3Context } from './context.ts';
import { toAppError } from './errors.ts';
import { fromHttpHeaders } from './metadata.ts';
import { getObject, notModifiedEtag, objectAnswer } from './read.ts';
import { abortError, Pool, type ReadConnection, type Receiver } from './read-connections.ts';
import { contentLength, MAX_HEAD_BYTES, parseResponseHead } from './response-head.ts';
import { createHeaderSigner, encodeKeyPath, type SigningCredentials } from './sigv4.ts';
import { SlotBody } from './slot-body.ts';

/**
 * GetObject without the SDK, for every download: signed here (sigv4.ts) and sent on a keep-alive
 * connection that reads into reused memory (read-connections.ts, read-slots.ts), its body handed out
 * as views of that memory (slot-body.ts). Through the SDK every socket read is a fresh 64 KiB buffer
 * outside V8's heap, and their garbage collection is most of what a download costs Stowage beyond a
 * bare TCP relay (bench/README, "Downloads").
 *
 * Only the plain answers are taken from this path: 200 and 206 framed by a Content-Length, and 304.
 * Anything else — 404, 416, 403, 5xx, a redirect, chunked or unframed bodies, a refused, reset or
 * closed connection, one not connected within the connect timeout, no free connection — is asked again
 * through the SDK (read.ts `getObject`), whose retries and error mapping (errors.ts) stay the one place
 * S3 failures are understood. A GET that S3 does not start answering within the request timeout is not
 * asked again (that would double the deadline): it is a timeout, as is a body that stalls for that
 * long while Stowage is waiting for it (not while the client is slow to take it).
 */

export interface QuickGetSettings {
  /** The bucket as Stowage reaches it (the internal endpoint), path-style path included. */
  bucketUrl: string;
  region: string;
  credentials: () => Promise<SigningCredentials>;
  /** The connection's request timeout: S3 must start answering, and keep sending, within it. */
  timeoutMs: number;
  /** The connection's connect timeout: past it the SDK is asked. */
  connectTimeoutMs: number;
}

export type QuickGetAnswer =
  | { status: 200 | 206; headers: Record<string, string>; body: SlotBody }
  | { status: 304; headers: Record<string, string> }
  | undefined;

export type QuickGet = ((input: GetInput) => Promise<QuickGetAnswer>) & { close(): void };

const OPERATION = 'GetObject';

/** A value that can go on the wire as it is (the client's If-None-Match is the only one not ours). */
const plainValue = (value: string) => /^[\t\x20-\x7e]*$/.test(value);

export function createQuickGet(settings: QuickGetSettings): QuickGet {
  const url = new URL(settings.bucketUrl);
  const https = url.protocol === 'https:';
  const pool = new Pool({
    protocol: https ? 'https:' : 'http:',
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    connectTimeoutMs: settings.connectTimeoutMs,
    stallTimeoutMs: settings.timeoutMs,
    operation: OPERATION,
  });
  const sign = createHeaderSigner(url.host, settings.region);
  const basePath = url.pathname.replace(/\/+$/, '');

  const get = async (input: GetInput): Promise<QuickGetAnswer> => {
    if (input.signal?.aborted) throw abortError(OPERATION);
    if (input.ifNoneMatch !== undefined && !plainValue(input.ifNoneMatch)) return undefined;
    let credentials: SigningCredentials;
    try {
      credentials = await settings.credentials();
    } catch {
      return undefined;
    }
    const path = `${basePath}/${encodeKeyPath(input.key)}`;
    const headers: Record<string, string> = sign('GET', path, credentials);
    if (input.range) headers.range = `bytes=${input.range.start}-${input.range.end}`;
    if (input.ifNoneMatch !== undefined) headers['if-none-match'] = input.ifNoneMatch;
    if (!Object.values(headers).every(plainValue)) return undefined;
    let request = `GET ${path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
    const acquired = await pool.acquire(input.signal);
    if (acquired === undefined) return undefined;
    return exchange(acquired.connection, `${request}\r\n`, input.signal);
  };
  return Object.assign(get, { close: () => pool.close() });
}

/** Sends the request and reads the answer's head; the body, if any, is read as it is taken. */
function exchange(
  connection: ReadConnection,
  request: string,
  signal: AbortSignal | undefined,
): Promise<QuickGetAnswer> {
  return new Promise((resolve, reject) => {
    let head = '';
    let settled = false;
    const settle = (outcome: QuickGetAnswer | Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => {
      connection.destroy();
      settle(abortError(OPERATION));
    };
    const giveUp = () => {
      connection.destroy();
      settle(undefined);
    };
    const receiver: Receiver = {
      bytes(view, slot) {
        const before = head.length;
        head += view.toString('latin1');
        const end = head.indexOf('\r\n\r\n', Math.max(0, before - 3));
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) giveUp();
          return;
        }
        const parsed = parseResponseHead(head.slice(0, end));
        const rest = view.subarray(end + 4 - before);
        if (parsed?.status === 304) {
          // No body, whatever the headers say (RFC 9110 §15.4.5).
          connection.finish(parsed.keepAlive && rest.length === 0);
          return settle({ status: 304, headers: parsed.headers });
        }
        const length = parsed === undefined ? undefined : contentLength(parsed);
        if (parsed === undefined || (parsed.status !== 200 && parsed.status !== 206) || length === undefined)
          return giveUp();
        const body = new SlotBody(connection, length, parsed.keepAlive);
        if (rest.length > 0) body.bytes(rest, slot);
        if (signal !== undefined) {
          const abortBody = () => body.destroy(abortError(OPERATION));
          signal.addEventListener('abort', abortBody, { once: true });
          body.once('close', () => signal.removeEventListener('abort', abortBody));
        }
        settle({ status: parsed.status, headers: parsed.headers, body });
      },
      wantsMore: () => true,
      // A stall is answered as one; any other failure before the answer is the SDK's to retry.
      failed: (error) => settle(error.name === 'TimeoutError' ? error : undefined),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    connection.attach(receiver);
    connection.socket.write(request);
  });
}

/** The driver's get: the quick path, and the SDK when it cannot answer plainly. */
export async function quickGetObject(
  context: S3Context,
  quick: QuickGet,
  input: GetInput,
): Promise<GetResult> {
  let answer: QuickGetAnswer;
  try {
    answer = await quick(input);
  } catch (error) {
    throw toAppError(error, { operation: OPERATION });
  }
  if (answer === undefined) return getObject(context, input);
  if (answer.status === 304)
    return { notModified: true, info: { etag: await notModifiedEtag(context, input, answer.headers.etag) } };
  const headers = { ...fromHttpHeaders(answer.headers), ContentRange: answer.headers['content-range'] };
  return objectAnswer(input, headers, answer.body);
}
