import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { type CompatProxy, startCompatProxy } from '../support/compat-proxy.ts';
import { pdf, text } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';
import { s3Connection, startStowageProcess } from '../support/stowage-process.ts';

/**
 * S3-compatible servers that do not carry out conditional writes, played by a re-signing proxy in
 * front of the real S3 server: one that refuses them (501 NotImplemented, as Swift's s3api does) and
 * one that drops the headers (as some providers do, silently).
 */
const proxies: Record<'refusing' | 'ignoring', CompatProxy | undefined> = {
  refusing: undefined,
  ignoring: undefined,
};
const proxy = (name: keyof typeof proxies): CompatProxy => {
  const started = proxies[name];
  if (!started) throw new Error(`proxy ${name} not started`);
  return started;
};

beforeAll(async () => {
  proxies.refusing = await startCompatProxy(inject('s3'), 'refuse');
  proxies.ignoring = await startCompatProxy(inject('s3'), 'drop');
});
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((started) => started?.close()));
});

/** A storage on one of the proxies' bucket, through that proxy. */
const behind = (name: keyof typeof proxies, buckets: Record<string, string>, profile: object = {}) => ({
  driver: 's3' as const,
  bucket: buckets[name] ?? '',
  s3: { endpoint: proxy(name).url },
  ...profile,
});

const stowage = useStowage({
  buckets: ['refusing', 'ignoring', 'direct'],
  storages: (buckets) => ({
    direct: { driver: 's3', bucket: buckets.direct ?? '' },
    // Prefixes apart: storages may not overlap in a bucket (config locations rule).
    ignoring: behind('ignoring', buckets, { prefix: 'create-only/' }),
    optout: behind('ignoring', buckets, { prefix: 'optout/', overwrite: true }),
    refusing: behind('refusing', buckets, { prefix: 'create-only/', partSize: '5MiB' }),
    plain: behind('refusing', buckets, { prefix: 'overwrite/', overwrite: true }),
  }),
});
const api = stowageApi(stowage);

describe('a server that refuses conditional writes (501 NotImplemented)', () => {
  it('a create-only write is 502 STORAGE_NOT_SUPPORTED, not "retry later", and nothing is looked for afterwards', async () => {
    const before = proxy('refusing').requests.length;
    const small = await api.put('refusing', 'small.txt', text('hello'), { 'content-type': 'text/plain' });
    expect(small.status).toBe(502);
    expect(small.json.error?.code).toBe('STORAGE_NOT_SUPPORTED');
    expect(small.headers.get('retry-after')).toBeNull();
    // A multipart-sized body is refused at its reservation the same way.
    const large = await api.put('refusing', 'large.pdf', pdf(6 * 2 ** 20), {
      'content-type': 'application/pdf',
    });
    expect(large.status).toBe(502);
    expect(large.json.error?.code).toBe('STORAGE_NOT_SUPPORTED');
    expect(large.headers.get('retry-after')).toBeNull();
    // A later request through the same storage, so anything the failures started has been sent.
    expect((await api.list('refusing')).status).toBe(200);
    const after = proxy('refusing').requests.slice(before);
    // No late-write retraction (a HEAD of the key) and no multipart upload started.
    expect(after.filter((request) => request.method === 'HEAD')).toEqual([]);
    expect(after.filter((request) => request.path.includes('uploads'))).toEqual([]);
    expect(await stowage.backend('refusing').keys()).toEqual([]);
  });

  it('the same server takes unconditional writes (overwrite: true)', async () => {
    const stored = await api.put('plain', 'a.txt', text('hello'), { 'content-type': 'text/plain' });
    expect(stored.status).toBe(201);
    expect(await stowage.backend('plain').keys()).toEqual(['overwrite/a.txt']);
    expect((await api.object('plain', 'a.txt', { method: 'DELETE' })).status).toBe(204);
  });
});

interface Readiness {
  status: string;
  storages: Record<string, { status: string; code?: string; message?: string }>;
}

describe('create-only storages are probed: a server that ignores or refuses the conditions is not ready', () => {
  it('the proxy is what it claims: through it, a create-only PutObject onto an existing key overwrites', async () => {
    // Not Stowage: the S3 SDK straight through the header-dropping proxy, to show what is at stake.
    const server = inject('s3');
    const client = new S3Client({
      endpoint: proxy('ignoring').url,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const put = (body: string) =>
      client.send(
        new PutObjectCommand({
          Bucket: stowage.buckets.ignoring,
          Key: 'raw.txt',
          Body: body,
          IfNoneMatch: '*',
        }),
      );
    await put('first');
    await put('second'); // no 412
    client.destroy();
    expect((await stowage.backend('ignoring').object('raw.txt')).body.toString()).toBe('second');
    await stowage.s3.send(new DeleteObjectCommand({ Bucket: stowage.buckets.ignoring, Key: 'raw.txt' }));
  });

  it("/readyz is 503 naming the server's answer and overwrite: true; the real server and the opt-outs are ready", async () => {
    const response = await fetch(`${stowage.url}/readyz`);
    const body = (await response.json()) as Readiness;
    expect(response.status).toBe(503);
    expect(body.storages.direct).toEqual({ status: 'ok' });
    expect(body.storages.optout).toEqual({ status: 'ok' });
    expect(body.storages.plain).toEqual({ status: 'ok' });
    expect(body.storages.ignoring).toMatchObject({ status: 'error', code: 'STORAGE_NOT_SUPPORTED' });
    expect(body.storages.ignoring?.message).toMatch(
      /does not enforce If-None-Match.*answered 200 instead of 412/,
    );
    expect(body.storages.ignoring?.message).toContain('overwrite: true');
    expect(body.storages.refusing).toMatchObject({ status: 'error', code: 'STORAGE_NOT_SUPPORTED' });
    expect(body.storages.refusing?.message).toMatch(
      /refuses conditional writes.*answered 501 NotImplemented/,
    );
    expect(body.storages.refusing?.message).toContain('overwrite: true');
  });

  it('the probes leave nothing behind', async () => {
    expect(await stowage.backend('direct').keys()).toEqual([]);
    expect(await stowage.backend('ignoring').keys()).toEqual([]);
  });

  it('once found out, create-only writes to that storage are refused instead of overwriting', async () => {
    const first = await api.put('ignoring', 'once.txt', text('first'), { 'content-type': 'text/plain' });
    expect(first.status).toBe(502);
    expect(first.json.error?.code).toBe('STORAGE_NOT_SUPPORTED');
    expect(await stowage.backend('ignoring').keys()).toEqual([]);
    // The opt-out still writes, and the real server still refuses an existing key.
    expect((await api.put('optout', 'a.txt', text('a'), { 'content-type': 'text/plain' })).status).toBe(201);
    expect((await api.put('direct', 'a.txt', text('a'), { 'content-type': 'text/plain' })).status).toBe(201);
    expect((await api.put('direct', 'a.txt', text('b'), { 'content-type': 'text/plain' })).status).toBe(409);
    for (const storage of ['optout', 'direct'])
      expect((await api.object(storage, 'a.txt', { method: 'DELETE' })).status).toBe(204);
  });
});

describe('at startup', () => {
  it("the process logs one line naming the storage, the server's answer and the opt-out", async () => {
    const process = await startStowageProcess(
      {
        server: { logLevel: 'warn' },
        s3: s3Connection(inject('s3')),
        auth: { anonymousGrants: ['*:*'] },
        storages: {
          uploads: {
            driver: 's3',
            bucket: stowage.buckets.ignoring,
            prefix: 'startup/',
            s3: { endpoint: proxy('ignoring').url },
          },
        },
      },
      { label: 'conditions-startup' },
    );
    try {
      let line: string | undefined;
      for (let attempt = 0; attempt < 100 && line === undefined; attempt++) {
        line = process.logs().find((entry) => entry.includes('is not ready'));
        if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(line, process.logs().join('\n')).toBeDefined();
      const entry = JSON.parse(line ?? '{}') as { msg: string; storage: string; code: string };
      expect(entry).toMatchObject({ storage: 'uploads', code: 'STORAGE_NOT_SUPPORTED' });
      expect(entry.msg).toMatch(
        /^storage uploads is not ready: the S3 server does not enforce If-None-Match .*overwrite: true/,
      );
      expect(process.logs().filter((entry) => entry.includes('is not ready'))).toHaveLength(1);
    } finally {
      await process.kill();
    }
    expect(await stowage.backend('ignoring').keys('startup/')).toEqual([]);
  });
});
