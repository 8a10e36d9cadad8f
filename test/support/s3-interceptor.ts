import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, inject } from 'vitest';

/**
 * An HTTP proxy in front of the suite's S3 server that can answer a request itself, for server
 * behaviours Ceph does not have (AWS's If-Match on CompleteMultipartUpload). Everything else is
 * forwarded byte for byte, Host included, so SigV4 signatures still verify. It also counts what goes
 * through: requests by method, every request with its answer's status, and the most HEADs it has
 * seen in flight at once.
 */
export interface S3Exchange {
  method: string;
  /** Path and query, path-style: /bucket/key?query */
  url: string;
  status: number;
}

export interface S3Interceptor {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Answer matching requests with this S3 error instead of forwarding them, until called with undefined. */
  refuse(match: ((request: IncomingMessage) => boolean) | undefined, status?: number, code?: string): void;
  readonly counts: Record<string, number>;
  /** Every request since the last reset, in the order they were answered. */
  readonly exchanges: readonly S3Exchange[];
  readonly maxHeadsInFlight: number;
  reset(): void;
}

export function useS3Interceptor(): S3Interceptor {
  const target = new URL(inject('s3').endpoint);
  let server: Server | undefined;
  let url = '';
  let refusal: { match: (request: IncomingMessage) => boolean; status: number; code: string } | undefined;
  let counts: Record<string, number> = {};
  let exchanges: S3Exchange[] = [];
  let headsInFlight = 0;
  let maxHeadsInFlight = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const method = request.method ?? 'GET';
      counts[method] = (counts[method] ?? 0) + 1;
      const log = exchanges;
      response.once('finish', () =>
        log.push({ method, url: request.url ?? '', status: response.statusCode }),
      );
      if (refusal?.match(request)) {
        request.resume();
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${refusal.code}</Code><Message>refused by the test</Message></Error>`;
        response.writeHead(refusal.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
        return;
      }
      if (method === 'HEAD') maxHeadsInFlight = Math.max(maxHeadsInFlight, ++headsInFlight);
      const upstream = forward(
        { host: target.hostname, port: target.port, method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      response.once('close', () => {
        if (method === 'HEAD') headsInFlight--;
      });
      upstream.once('error', () => response.destroy());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  return {
    get url() {
      if (!url) throw new Error('useS3Interceptor: used before its beforeAll ran');
      return url;
    },
    refuse(match, status = 412, code = 'PreconditionFailed') {
      refusal = match && { match, status, code };
    },
    get counts() {
      return counts;
    },
    get exchanges() {
      return exchanges;
    },
    get maxHeadsInFlight() {
      return maxHeadsInFlight;
    },
    reset() {
      counts = {};
      exchanges = [];
      maxHeadsInFlight = 0;
    },
  };
}
