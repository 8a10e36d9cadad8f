import { request } from 'node:http';

/**
 * An HTTP request whose path is sent exactly as written. fetch() normalises URLs the WHATWG way
 * ("a/./b" → "a/b", "%2e%2e" → ".."), which would hide what a hostile client can really send.
 */
export function rawRequest(
  baseUrl: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, method: options.method, path: options.path, headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const jsonOf = <T = { error?: { code: string } }>(body: Buffer): T =>
  JSON.parse(body.toString('utf8')) as T;
