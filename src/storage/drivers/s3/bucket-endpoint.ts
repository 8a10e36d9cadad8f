import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/**
 * One bucket reached without the SDK (quick-head.ts, quick-put.ts): a keep-alive agent of its own and
 * the one way those requests fail. A request either gets an answer (its status and headers; the body
 * is the caller's to read or drop), or none: a refused, reset or closed connection resolves with
 * undefined, for the caller to ask the SDK, whose retries and error mapping (errors.ts) stay the one
 * place S3 failures are understood. A stalled S3 is not asked twice: past the request timeout (no
 * answer, or a stall while the body is sent) the request rejects with a TimeoutError, which errors.ts
 * maps as it does the SDK's.
 */

/** Sockets kept per agent (the SDK client keeps its own 64). */
const MAX_SOCKETS = 64;

export interface BucketEndpoint {
  /** `host[:port]`, as signed. */
  readonly host: string;
  /** The bucket's path (path-style), without a trailing slash; empty for a virtual-hosted bucket. */
  readonly basePath: string;
  send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
  ): Promise<IncomingMessage | undefined>;
  close(): void;
}

export function createBucketEndpoint(
  bucketUrl: string,
  timeoutMs: number,
  operation: string,
): BucketEndpoint {
  const url = new URL(bucketUrl);
  const transport = url.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? undefined : Number(url.port);
  return {
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    send: (method, path, headers, body) =>
      new Promise((resolve, reject) => {
        let request: http.ClientRequest;
        try {
          request = transport.request(
            { agent, hostname, ...(port !== undefined && { port }), method, path, headers },
            (response) => {
              // An answer whose body breaks off later is still the answer; nothing must go unheard.
              response.on('error', () => {});
              resolve(response);
            },
          );
        } catch {
          // A header value node:http will not send (ERR_INVALID_CHAR): the SDK's call decides.
          return resolve(undefined);
        }
        let timedOut = false;
        request.setTimeout(timeoutMs, () => {
          timedOut = true;
          request.destroy(
            Object.assign(new Error(`S3 did not answer the ${operation} in time`), { name: 'TimeoutError' }),
          );
        });
        request.on('error', (error) => (timedOut ? reject(error) : resolve(undefined)));
        request.end(body);
      }),
    close: () => agent.destroy(),
  };
}
