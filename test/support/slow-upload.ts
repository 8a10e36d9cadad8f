import { randomBytes } from 'node:crypto';
import { request } from 'node:http';

/**
 * A raw PUT whose body the test feeds by hand: send some bytes, hold the connection, send the rest
 * (or never). Resolves `response` with the status and JSON body, or with status 0 when the server cut
 * the connection without answering.
 */
export interface SlowUpload {
  send(bytes: number): Promise<void>;
  finish(): void;
  abort(): void;
  response: Promise<{
    status: number;
    body: { error?: { code: string } } & Record<string, unknown>;
    headers: Record<string, unknown>;
  }>;
}

export function slowUpload(
  baseUrl: string,
  path: string,
  totalBytes: number,
  headers: Record<string, string> = {},
): SlowUpload {
  const { hostname, port } = new URL(baseUrl);
  let sent = 0;
  const req = request({
    hostname,
    port,
    method: 'PUT',
    path,
    headers: {
      'content-type': 'application/octet-stream',
      // A chunked body (`transfer-encoding: chunked` in `headers`) has no Content-Length.
      ...(headers['transfer-encoding'] !== 'chunked' && { 'content-length': String(totalBytes) }),
      ...headers,
    },
  });
  const response = new Promise<Awaited<SlowUpload['response']>>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, headers: res.headers });
      });
      res.on('error', () => resolve({ status: 0, body: {}, headers: {} }));
    });
    req.on('error', () => resolve({ status: 0, body: {}, headers: {} }));
  });
  const chunk = randomBytes(64 * 1024);
  return {
    response,
    async send(bytes) {
      const target = Math.min(totalBytes, sent + bytes);
      while (sent < target && !req.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, target - sent));
        sent += piece.length;
        if (!req.write(piece)) await new Promise((resolve) => req.once('drain', resolve));
      }
    },
    finish() {
      void this.send(totalBytes - sent).then(() => req.end());
    },
    abort() {
      req.destroy();
    },
  };
}
