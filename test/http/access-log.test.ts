import { createHash } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { png } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Logging is one line per request, written when the response is sent (src/http/access-log.ts): the
 * request, its status and duration, who made it, and what the route did. Checked on the lines an
 * operator would read, over real HTTP against the real S3 server.
 */

const KEY = 'access-log-test-key-0123456789abcdef';
const sha = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex')}`;

const stowage = useStowage({
  // refused gets a bucket of its own: storages may not share keys (the config refuses it).
  buckets: ['docs', 'refused'],
  storages: (buckets) => ({
    docs: { driver: 's3', bucket: buckets.docs!, allowedTypes: ['image/png'] },
    // Private local storage: its links are served (and logged) by Stowage itself.
    files: { driver: 'local', access: 'private' },
    // S3 refuses this storage's signatures: a server-side failure (502) on demand.
    refused: {
      driver: 's3',
      bucket: buckets.refused!,
      s3: {
        maxAttempts: 1,
        credentials: { accessKeyId: inject('s3').accessKeyId, secretAccessKey: 'not-the-secret-00000000' },
      },
    },
  }),
  config: {
    auth: { apiKeys: [{ name: 'writer', hash: sha(KEY), grants: ['docs:*', 'refused:*', 'files:*'] }] },
  },
});

interface Line {
  reqId?: string;
  msg: string;
  level: number;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  [field: string]: unknown;
}

/** The lines logged for the request that got this X-Request-Id. */
function linesOf(requestId: string): Line[] {
  return stowage.logs.map((line) => JSON.parse(line) as Line).filter((line) => line.reqId === requestId);
}

/** The completion line is written after the response is sent; give it a moment to reach the log. */
async function settledLinesOf(requestId: string): Promise<Line[]> {
  for (let tries = 0; tries < 50; tries++) {
    const lines = linesOf(requestId);
    if (lines.some((line) => line.msg === 'request completed')) return lines;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return linesOf(requestId);
}

const auth = { authorization: `Bearer ${KEY}` };

/** PUTs a body as an image/png with the key, expects `status`, and returns that request's log lines. */
async function putAndLines(path: string, body: Buffer | string, status: number): Promise<Line[]> {
  const response = await fetch(`${stowage.url}/v1/storages/${path}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'image/png', ...auth },
  });
  expect(response.status).toBe(status);
  return settledLinesOf(response.headers.get('x-request-id') ?? '');
}

describe('access log', () => {
  it('an upload is one line: request, status, duration, principal, storage, key and size', async () => {
    const lines = await putAndLines('docs/objects/logged/a.png', png(3000), 201);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'PUT', url: '/v1/storages/docs/objects/logged/a.png' },
      res: { statusCode: 201 },
      principal: 'api-key:writer',
      storage: 'docs',
      key: 'logged/a.png',
      bytes: 3000,
    });
    expect(line?.responseTime).toBeTypeOf('number');
    expect(JSON.stringify(line)).not.toContain(KEY);
  });

  it('a rejected request is one line with its status and error code', async () => {
    const lines = await putAndLines('docs/objects/logged/b.png', 'not a png', 415);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      res: { statusCode: 415 },
      code: 'CONTENT_TYPE_MISMATCH',
      principal: 'api-key:writer',
    });
    expect(lines[0]?.reason).toBeTypeOf('string');
  });

  it('a server-side failure: the completion line has its code, an error line its cause', async () => {
    const lines = await putAndLines('refused/objects/logged/d.png', png(3000), 502);
    expect(lines).toHaveLength(2);
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({
      level: 30,
      res: { statusCode: 502 },
      code: 'STORAGE_ERROR',
      principal: 'api-key:writer',
    });
    const errorLine = lines.find((line) => line.level === 50);
    expect(errorLine).toMatchObject({ code: 'STORAGE_ERROR', status: 502 });
    expect(errorLine?.err).toBeDefined();
  });

  it('a request without credentials is logged too, with its 401 and no principal', async () => {
    const response = await fetch(`${stowage.url}/v1/storages/docs/objects/logged/c.png`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer wrong-key' },
    });
    expect(response.status).toBe(401);
    const lines = await settledLinesOf(response.headers.get('x-request-id') ?? '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ res: { statusCode: 401 }, code: 'UNAUTHORIZED' });
    expect(lines[0]).not.toHaveProperty('principal');
    expect(JSON.stringify(lines)).not.toContain('wrong-key');
  });

  it('a link whose signature name is percent-encoded still works, and its signature is not logged', async () => {
    await putAndLines('files/objects/linked.png', png(500), 201);
    const issued = await fetch(`${stowage.url}/v1/storages/files/urls`, {
      method: 'POST',
      body: JSON.stringify({ key: 'linked.png' }),
      headers: { 'content-type': 'application/json', ...auth },
    });
    const { url } = (await issued.json()) as { url: string };
    const signature = new URL(url).searchParams.get('signature') ?? '';
    expect(signature).not.toBe('');
    // `%73` is "s": the query parser reads the same link, a name-matching redaction would not.
    const encoded = url.replace('signature=', '%73ignature=');
    const response = await fetch(encoded);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const lines = await settledLinesOf(response.headers.get('x-request-id') ?? '');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.req?.url).toContain('%73ignature=[REDACTED]');
    expect(stowage.logs.join('\n')).not.toContain(signature);
  });
});
