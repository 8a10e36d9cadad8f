import { createHash, createHmac } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3TestServer } from './s3-server.ts';

/**
 * An HTTP proxy in front of the real S3 server that plays a less capable S3-compatible server. Its
 * conditional writes, switchable at runtime:
 * - `pass`: forwards every request as it is (re-signed);
 * - `drop`: removes `If-None-Match` and `If-Match` from every request before forwarding it — a
 *   provider that silently ignores the conditions;
 * - `refuse`: answers `501 NotImplemented` to any request carrying one, as Swift's s3api does.
 * And, with `metadataValueLimit`, Swift's bound on user metadata (256 bytes per `x-amz-meta-*` value):
 * a longer one is refused with 400 before it reaches S3.
 * The host (and the dropped headers) are signed, so each forwarded request is signed again with the
 * test credentials; the body passes through untouched, its hash (`x-amz-content-sha256`) still valid.
 */
export type ConditionsMode = 'pass' | 'drop' | 'refuse';

export interface CompatProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  mode: ConditionsMode;
  /** Every request received, in order: method, path (query included), whether it carried a condition. */
  readonly requests: Array<{ method: string; path: string; conditional: boolean }>;
  close(): Promise<void>;
}

/** node:crypto as the signer's hash (what @smithy/hash-node does, without another dependency). */
class NodeHash {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/** What the signer hashes (@smithy/types' SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

const conditionHeaders = ['if-none-match', 'if-match'];
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'authorization']);

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
const notImplemented = s3Error(
  'NotImplemented',
  'A header you provided implies functionality that is not implemented.',
);
const metadataTooLarge = s3Error(
  'MetadataTooLarge',
  'Your metadata headers exceed the maximum allowed size.',
);

export async function startCompatProxy(
  target: S3TestServer,
  initial: ConditionsMode = 'pass',
  limits: { metadataValueLimit?: number } = {},
): Promise<CompatProxy> {
  const upstream = new URL(target.endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    region: target.region,
    service: 's3',
    sha256: NodeHash,
    uriEscapePath: false, // S3 paths are signed as sent
  });
  const state = { mode: initial, requests: [] as CompatProxy['requests'] };

  const forward = async (incoming: IncomingMessage, response: ServerResponse) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value === undefined || hopByHop.has(name)) continue;
      if (state.mode === 'drop' && conditionHeaders.includes(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers.host = upstream.host;
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const signed = await signer.sign({
      method: incoming.method ?? 'GET',
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: Number(upstream.port),
      path: url.pathname,
      query,
      headers,
    });
    return new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: signed.method,
          path: `${url.pathname}${url.search}`,
          headers: signed.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      incoming.pipe(outgoing);
    });
  };

  const server: Server = createServer((incoming, response) => {
    const conditional = conditionHeaders.some((name) => incoming.headers[name] !== undefined);
    state.requests.push({ method: incoming.method ?? '', path: incoming.url ?? '', conditional });
    const refuse = (status: number, body: string) => {
      incoming.resume();
      response.writeHead(status, { 'content-type': 'application/xml' }).end(body);
    };
    if (state.mode === 'refuse' && conditional) return refuse(501, notImplemented);
    const limit = limits.metadataValueLimit;
    const tooLong = (name: string, value: unknown) =>
      name.startsWith('x-amz-meta-') && typeof value === 'string' && Buffer.byteLength(value) > (limit ?? 0);
    if (limit !== undefined && Object.entries(incoming.headers).some(([name, value]) => tooLong(name, value)))
      return refuse(400, metadataTooLarge);
    forward(incoming, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: ConditionsMode) {
      state.mode = mode;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
