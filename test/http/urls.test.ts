import { describe, expect, it } from 'vitest';
import { form, pdf, png } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

const stowage = useStowage({
  buckets: ['private', 'public'],
  storages: (buckets) => ({
    private: { driver: 's3', bucket: buckets.private ?? '', presign: { defaultTtl: '10m', maxTtl: '1h' } },
    public: {
      driver: 's3',
      bucket: buckets.public ?? '',
      access: 'public',
      publicBaseUrl: 'https://cdn.example.test/',
    },
  }),
});

async function uploadOne(storage: string, data: Buffer, name: string, type: string): Promise<string> {
  const response = await fetch(`${stowage.url}/v1/storages/${storage}/objects`, {
    method: 'POST',
    body: form({ name, type, data }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { objects: Array<{ key: string }> }).objects[0]!.key;
}

async function urlFor(storage: string, body: Record<string, unknown>) {
  const response = await fetch(`${stowage.url}/v1/storages/${storage}/urls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as {
      url: string;
      expiresAt: string | null;
      expiresIn: number | null;
      error?: { code: string };
    },
  };
}

describe('download URLs', () => {
  it('a private object gets a presigned S3 URL that S3 itself serves, and refuses when tampered with', async () => {
    const data = pdf(40_000);
    const key = await uploadOne('private', data, 'contract.pdf', 'application/pdf');
    const before = Date.now();
    const { status, json } = await urlFor('private', { key, expiresIn: 120 });
    expect(status).toBe(200);
    expect(json.expiresIn).toBeGreaterThanOrEqual(119);
    expect(json.expiresIn).toBeLessThanOrEqual(120);
    expect(new Date(json.expiresAt!).getTime()).toBeGreaterThanOrEqual(before + 119_000);
    const url = new URL(json.url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(json.url).not.toContain(stowage.url); // S3 serves it, not Stowage

    const fetched = await fetch(json.url);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);

    const signature = url.searchParams.get('X-Amz-Signature')!;
    url.searchParams.set('X-Amz-Signature', signature.replace(/^./, signature[0] === 'a' ? 'b' : 'a'));
    expect((await fetch(url)).status).toBe(403);
    const otherKey = new URL(json.url);
    otherKey.pathname = otherKey.pathname.replace(key, `x${key}`);
    expect((await fetch(otherKey)).status).toBe(403);
  });

  it('clamps the expiry to the storage maximum, and uses the default when none is asked', async () => {
    const key = await uploadOne('private', pdf(1000), 'a.pdf', 'application/pdf');
    const clamped = await urlFor('private', { key, expiresIn: 7 * 24 * 3600 });
    expect(clamped.json.expiresIn).toBeLessThanOrEqual(3600);
    expect(new URL(clamped.json.url).searchParams.get('X-Amz-Expires')).toBe('3600');
    const defaulted = await urlFor('private', { key });
    expect(new URL(defaulted.json.url).searchParams.get('X-Amz-Expires')).toBe('600');
  });

  it('an expired presigned URL is refused by S3', async () => {
    const key = await uploadOne('private', pdf(1000), 'b.pdf', 'application/pdf');
    const { json } = await urlFor('private', { key, expiresIn: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await fetch(json.url)).status).toBe(403);
  });

  it('a download filename is carried by the link (RFC 6266/5987)', async () => {
    const key = await uploadOne('private', pdf(1000), 'c.pdf', 'application/pdf');
    const { json } = await urlFor('private', { key, filename: 'Überweisung März.pdf' });
    const fetched = await fetch(json.url);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf",
    );
    await fetched.arrayBuffer();
  });

  it('a public object gets its public URL, which does not expire', async () => {
    const key = await uploadOne('public', png(500), 'p.png', 'image/png');
    const { status, json } = await urlFor('public', { key, expiresIn: 60 });
    expect(status).toBe(200);
    expect(json).toEqual({ url: `https://cdn.example.test/${key}`, expiresAt: null, expiresIn: null });
  });

  it('404 for a missing object, 400 for an invalid request', async () => {
    const missing = await urlFor('private', { key: 'no/such/key.pdf' });
    expect(missing.status).toBe(404);
    expect(missing.json.error?.code).toBe('OBJECT_NOT_FOUND');
    for (const body of [
      {},
      { key: '' },
      { key: 'a', expiresIn: -5 },
      { key: 'a', expiresIn: 'soon' },
      { key: '../a' },
    ]) {
      const invalid = await urlFor('private', body);
      expect(invalid.status, JSON.stringify(body)).toBe(400);
    }
    const unknown = await urlFor('nope', { key: 'a' });
    expect(unknown.status).toBe(404);
  });

  it('never writes a signature or a credential to the log', () => {
    const joined = stowage.logs.join('\n');
    expect(joined).toContain('issued presigned URL');
    expect(joined).not.toMatch(/X-Amz-Signature=[0-9a-f]/i);
    expect(joined).not.toContain(stowage.config.s3.credentials?.secretAccessKey ?? 'unset');
    expect(joined).not.toContain('X-Amz-Credential=');
  });
});
