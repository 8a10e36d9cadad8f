import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { type ConditionsProxy, startConditionsProxy } from '../support/conditions-proxy.ts';
import { pdf, text } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * S3-compatible servers that do not carry out conditional writes, played by a re-signing proxy in
 * front of the real S3 server: one that refuses them (501 NotImplemented, as Swift's s3api does) and
 * one that drops the headers (as some providers do, silently).
 */
const proxies: Record<'refusing' | 'ignoring', ConditionsProxy | undefined> = {
  refusing: undefined,
  ignoring: undefined,
};
const proxy = (name: keyof typeof proxies): ConditionsProxy => {
  const started = proxies[name];
  if (!started) throw new Error(`proxy ${name} not started`);
  return started;
};

beforeAll(async () => {
  proxies.refusing = await startConditionsProxy(inject('s3'), 'refuse');
  proxies.ignoring = await startConditionsProxy(inject('s3'), 'drop');
});
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((started) => started?.close()));
});

const stowage = useStowage({
  buckets: ['refusing', 'ignoring'],
  storages: (buckets) => ({
    refusing: {
      driver: 's3',
      bucket: buckets.refusing ?? '',
      partSize: '5MiB',
      s3: { endpoint: proxy('refusing').url },
    },
    plain: {
      driver: 's3',
      bucket: buckets.refusing ?? '',
      prefix: 'overwrite/',
      overwrite: true,
      s3: { endpoint: proxy('refusing').url },
    },
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
