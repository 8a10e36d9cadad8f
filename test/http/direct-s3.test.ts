import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import { finalizeDirect } from '../../src/storage/direct/finalize.ts';
import {
  directKeyFor,
  type IssuedKey,
  issueKey,
  type KeyBinding,
} from '../../src/storage/direct/issued-key.ts';
import type { DirectUploads } from '../../src/storage/direct/port.ts';
import { createCleanups } from '../../src/storage/drivers/s3/background-cleanups.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { promoteStaged } from '../../src/storage/drivers/s3/direct-promote.ts';
import { DIRECT_STAGING_PREFIX } from '../../src/storage/keys.ts';
import { closeStorages, createLinks, createStorages } from '../../src/storage/registry.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { form, pdf, png, sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * Direct-to-S3 uploads against real Ceph: Stowage signs, the test sends the S3 requests itself with
 * fetch (as Uppy's S3 client does in `signRequest` mode), then finalize verifies and promotes.
 */
const MiB = 2 ** 20;
const SECRET = 'a-direct-upload-secret-of-at-least-32-chars';
const ALICE = 'direct-test-key-alice-0123456789abcdef';
const BOB = 'direct-test-key-bob-0123456789abcdef0000';
const sha = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex')}`;
const stowage = useStowage({
  buckets: ['docs', 'bare', 'open'],
  storages: (buckets) => ({
    docs: {
      driver: 's3',
      bucket: buckets.docs ?? '',
      prefix: 'docs/',
      maxFileSize: '12MiB',
      allowedTypes: ['image/png', 'application/pdf'],
      cacheControl: 'max-age=60',
    },
    bare: { driver: 's3', bucket: buckets.bare ?? '', allowedTypes: ['application/pdf'] },
    open: { driver: 's3', bucket: buckets.open ?? '', access: 'public' },
    files: { driver: 'local' },
  }),
  config: {
    resumable: { secret: SECRET },
    auth: {
      apiKeys: [
        { name: 'alice', hash: sha(ALICE), grants: ['docs:*', 'bare:*', 'open:*', 'files:*'] },
        { name: 'bob', hash: sha(BOB), grants: ['docs:*'] },
      ],
    },
  },
});
const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

interface Signed {
  url: string;
  key?: string;
  headers?: Record<string, string>;
}

async function sign(body: Record<string, unknown>, token = ALICE, storage = 'docs') {
  return fetch(`${stowage.url}/v1/storages/${storage}/direct/sign`, {
    method: 'POST',
    headers: as(token),
    body: JSON.stringify(body),
  });
}
async function signed(body: Record<string, unknown>, token = ALICE): Promise<Signed> {
  const answer = await sign(body, token);
  expect(answer.status, await answer.clone().text()).toBe(200);
  return (await answer.json()) as Signed;
}
const finalize = (key: string, token = ALICE) =>
  fetch(`${stowage.url}/v1/storages/docs/direct/finalize`, {
    method: 'POST',
    headers: as(token),
    body: JSON.stringify({ key }),
  });
const errorCode = async (answer: Response) =>
  ((await answer.json()) as { error: { code: string } }).error.code;

/** A PutObject straight to S3 through a fresh signed URL; answers the issued key. */
async function putDirect(data: Buffer, type: string, name = 'report.pdf'): Promise<string> {
  const target = await signed({ method: 'PUT', key: `0b6f1f8e-2f57-4a51-9d0e-3c1d2b4a5e6f-${name}` });
  const put = await fetch(target.url, {
    method: 'PUT',
    headers: { 'content-type': type, ...target.headers },
    body: data,
  });
  expect(put.status).toBe(200);
  return target.key ?? '';
}

const stagedKeys = () => stowage.backend('docs').keys(DIRECT_STAGING_PREFIX);

describe('direct uploads, single request (PutObject)', () => {
  it('signs a PUT of a fresh issued key, finalize stores it with a form upload’s metadata', async () => {
    const data = pdf(300 * 1024);
    const key = await putDirect(data, 'application/pdf', 'Grüße.pdf');
    expect(key.startsWith(DIRECT_STAGING_PREFIX)).toBe(true);
    expect(key).not.toContain('report');
    const done = await finalize(key);
    expect(done.status).toBe(201);
    const [object] = ((await done.json()) as { objects: Array<Record<string, unknown>> }).objects;
    expect(object).toMatchObject({
      storage: 'docs',
      size: data.length,
      contentType: 'application/pdf',
      originalName: 'Grüße.pdf',
    });
    expect(String(object?.key)).toMatch(/^[0-9a-f]{32}\.pdf$/);
    const stored = await stowage.backend('docs').object(`docs/${object?.key}`);
    expect(sha256(stored.body)).toBe(sha256(data));
    expect(stored.contentType).toBe('application/pdf');
    expect(stored.cacheControl).toBe('max-age=60');
    // The same disposition a form upload of that file gets.
    const formed = await fetch(`${stowage.url}/v1/storages/docs/objects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}` },
      body: form({ name: 'Grüße.pdf', type: 'application/pdf', data }),
    });
    const [viaForm] = ((await formed.json()) as { objects: Array<{ key: string }> }).objects;
    const formStored = await stowage.backend('docs').object(`docs/${viaForm?.key}`);
    expect(stored.contentDisposition).toBe(formStored.contentDisposition);
    // Read back through Stowage: identical.
    const read = await fetch(`${stowage.url}/v1/storages/docs/objects/${object?.key}`, {
      headers: { authorization: `Bearer ${ALICE}` },
    });
    expect(sha256(Buffer.from(await read.arrayBuffer()))).toBe(sha256(data));
    expect(await stagedKeys()).toEqual([]);
    // Finalizing again answers the same object (a retried finalize whose answer was lost).
    const again = await finalize(key);
    expect(again.status).toBe(200);
    const [repeated] = ((await again.json()) as { objects: Array<Record<string, unknown>> }).objects;
    expect({ ...repeated, receipt: undefined }).toEqual({ ...object, receipt: undefined });
    // The receipt says what was promoted, and who uploaded it (issue 15 point 4).
    const verified = await fetch(`${stowage.url}/v1/receipts/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receipt: object?.receipt }),
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({
      valid: true,
      storage: 'docs',
      key: object?.key,
      size: data.length,
      contentType: 'application/pdf',
      principal: expect.stringMatching(/^api-key:/),
    });
  });

  it('one issued key makes one object: bytes sent again with its URL after finalize are dropped', async () => {
    const target = await signed({ method: 'PUT', key: 'first.pdf' });
    const first = pdf(4096);
    expect((await fetch(target.url, { method: 'PUT', body: first })).status).toBe(200);
    const done = await finalize(target.key ?? '');
    expect(done.status).toBe(201);
    const { objects } = (await done.json()) as { objects: Array<{ key: string } & Record<string, unknown>> };
    expect((await fetch(target.url, { method: 'PUT', body: png(4096) })).status).toBe(200);
    const again = await finalize(target.key ?? '');
    expect(again.status).toBe(200);
    // The same object; its receipt is signed anew (its time may differ by a second).
    const withoutReceipt = (list: Array<Record<string, unknown>>) => list.map(({ receipt, ...rest }) => rest);
    expect(
      withoutReceipt(((await again.json()) as { objects: Array<Record<string, unknown>> }).objects),
    ).toEqual(withoutReceipt(objects));
    expect(await stagedKeys()).toEqual([]);
    const stored = await stowage.backend('docs').object(`docs/${objects[0]?.key}`);
    expect(sha256(stored.body)).toBe(sha256(first));
  });

  it('a declared size and type are signed: S3 refuses another length', async () => {
    const data = png(4096);
    const target = await signed({ method: 'PUT', key: 'x.png', size: data.length, contentType: 'image/png' });
    expect(target.headers).toEqual({ 'content-type': 'image/png' });
    const longer = await fetch(target.url, {
      method: 'PUT',
      headers: target.headers ?? {},
      body: Buffer.concat([data, Buffer.from('extra')]),
    });
    expect(longer.status).toBe(403);
    const retyped = await fetch(target.url, {
      method: 'PUT',
      headers: { 'content-type': 'text/html' },
      body: data,
    });
    expect(retyped.status).toBe(403);
    const exact = await fetch(target.url, { method: 'PUT', headers: target.headers ?? {}, body: data });
    expect(exact.status).toBe(200);
    const done = await finalize(target.key ?? '');
    expect(done.status).toBe(201);
  });

  it('staging, at the bucket root, is never listed nor served by a storage with an empty prefix', async () => {
    const target = (await (await sign({ method: 'PUT', key: 'x.pdf' }, ALICE, 'bare')).json()) as Signed;
    expect((await fetch(target.url, { method: 'PUT', body: pdf(2048) })).status).toBe(200);
    const key = target.key ?? '';
    expect(await stowage.backend('bare').keys(DIRECT_STAGING_PREFIX)).toEqual([key]);
    const auth = { authorization: `Bearer ${ALICE}` };
    const listed = await fetch(`${stowage.url}/v1/storages/bare/objects?prefix=`, { headers: auth });
    expect(((await listed.json()) as { objects: unknown[] }).objects).toEqual([]);
    for (const refused of [
      fetch(`${stowage.url}/v1/storages/bare/objects/${key}`, { headers: auth }),
      fetch(`${stowage.url}/v1/storages/bare/urls`, {
        method: 'POST',
        headers: as(ALICE),
        body: JSON.stringify({ key }),
      }),
      fetch(`${stowage.url}/v1/storages/bare/objects?prefix=${DIRECT_STAGING_PREFIX}`, { headers: auth }),
    ]) {
      const answer = await refused;
      expect([answer.status, await errorCode(answer)]).toEqual([
        400,
        answer.url.includes('prefix=') ? 'BAD_REQUEST' : 'INVALID_KEY',
      ]);
    }
    const done = await fetch(`${stowage.url}/v1/storages/bare/direct/finalize`, {
      method: 'POST',
      headers: as(ALICE),
      body: JSON.stringify({ key }),
    });
    expect(done.status).toBe(201);
    expect(await stowage.backend('bare').keys(DIRECT_STAGING_PREFIX)).toEqual([]);
  });
});

describe('direct uploads, browser form (POST policy)', () => {
  /** Posts the signed form with the file last, as a browser form does. */
  const postForm = (target: Signed & { fields?: Record<string, string> }, data: Buffer, type: string) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(target.fields ?? {})) body.append(name, value);
    body.append('Content-Type', type);
    body.append('file', new Blob([new Uint8Array(data)], { type }), 'scan.pdf');
    return fetch(target.url, { method: 'POST', body });
  };

  it('the policy pins the issued key and the size range: S3 refuses more than maxFileSize', async () => {
    const target = (await signed({ method: 'POST', key: 'scan.pdf', postPolicy: true })) as Signed & {
      fields?: Record<string, string>;
    };
    expect(target.fields?.key).toBe(target.key);
    const over = await postForm(target, pdf(12 * MiB + 1), 'application/pdf');
    expect(over.status).toBe(400);
    expect(await over.text()).toContain('EntityTooLarge');
    expect(await stagedKeys()).toEqual([]);
    // Another key in the form breaks the policy.
    const moved = await postForm(
      { ...target, fields: { ...target.fields, key: `${DIRECT_STAGING_PREFIX}chosen-by-me` } },
      pdf(1024),
      'application/pdf',
    );
    expect(moved.status).toBe(403);
    const data = pdf(64 * 1024);
    expect((await postForm(target, data, 'application/pdf')).status).toBe(204);
    const done = await finalize(target.key ?? '');
    expect(done.status).toBe(201);
    const [object] = ((await done.json()) as { objects: Array<{ key: string; originalName: string }> })
      .objects;
    expect(object?.originalName).toBe('scan.pdf');
    expect(sha256((await stowage.backend('docs').object(`docs/${object?.key}`)).body)).toBe(sha256(data));
  });

  it('a declared size is the only size S3 takes', async () => {
    const data = pdf(2048);
    const target = (await signed({
      method: 'POST',
      key: 'scan.pdf',
      postPolicy: true,
      size: data.length,
    })) as Signed & { fields?: Record<string, string> };
    expect((await postForm(target, data.subarray(1), 'application/pdf')).status).toBe(400);
    expect((await postForm(target, data, 'application/pdf')).status).toBe(204);
    expect((await finalize(target.key ?? '')).status).toBe(201);
  });
});

describe('direct uploads, multipart through the signed operations', () => {
  it('create, two 5 MiB parts, list, complete, finalize', async () => {
    const data = pdf(10 * MiB);
    const created = await signed({ method: 'POST', key: 'big.pdf' });
    const init = await fetch(created.url, { method: 'POST', headers: { 'content-type': 'application/pdf' } });
    expect(init.status).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await init.text())?.[1] ?? '';
    const key = created.key ?? '';
    // Not finalizable while the upload is open.
    const early = await finalize(key);
    expect([early.status, await errorCode(early)]).toEqual([409, 'DIRECT_UPLOAD_INCOMPLETE']);
    const etags: string[] = [];
    for (const partNumber of [1, 2]) {
      const part = await signed({ method: 'PUT', key, uploadId, partNumber });
      const sent = await fetch(part.url, {
        method: 'PUT',
        body: data.subarray((partNumber - 1) * 5 * MiB, partNumber * 5 * MiB),
      });
      expect(sent.status).toBe(200);
      etags.push(sent.headers.get('etag') ?? '');
    }
    const list = await signed({ method: 'GET', key, uploadId });
    const listed = await (await fetch(list.url)).text();
    expect(listed.match(/<PartNumber>/g)?.length).toBe(2);
    const complete = await signed({ method: 'POST', key, uploadId });
    const xml = `<CompleteMultipartUpload>${etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const completed = await fetch(complete.url, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: xml,
    });
    expect(completed.status).toBe(200);
    // What S3 answers as the object's key (and Uppy reports): the issued key itself.
    const reported = /<Key>([^<]+)<\/Key>/.exec(await completed.text())?.[1] ?? '';
    expect(reported).toBe(key);
    const done = await finalize(reported);
    expect(done.status).toBe(201);
    const [object] = (
      (await done.json()) as { objects: Array<{ key: string; size: number; contentType: string }> }
    ).objects;
    expect(object).toMatchObject({
      size: data.length,
      contentType: 'application/pdf',
      originalName: 'big.pdf',
    });
    const stored = await stowage.backend('docs').object(`docs/${object?.key}`);
    expect(sha256(stored.body)).toBe(sha256(data));
    expect(await stagedKeys()).toEqual([]);
    expect(await stowage.backend('docs').leftovers()).toEqual([]);
  });

  it('abort is signed for the issued key; a part for another key’s upload is refused by S3; part numbers outside 1…10000 are 400', async () => {
    const created = await signed({ method: 'POST', key: 'x.pdf' });
    const init = await fetch(created.url, { method: 'POST' });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await init.text())?.[1] ?? '';
    for (const partNumber of [0, 10_001]) {
      const refused = await sign({ method: 'PUT', key: created.key, uploadId, partNumber });
      expect([refused.status, await errorCode(refused)]).toEqual([400, 'VALIDATION_FAILED']);
    }
    // maxFileSize is 12 MiB: parts are at least 5 MiB, so no upload within it has a part 4.
    expect((await sign({ method: 'PUT', key: created.key, uploadId, partNumber: 3 })).status).toBe(200);
    const beyond = await sign({ method: 'PUT', key: created.key, uploadId, partNumber: 4 });
    expect([beyond.status, await errorCode(beyond)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    // Another issued key's upload id, signed for this key: S3 knows no such upload of it.
    const other = await signed({ method: 'POST', key: 'y.pdf' });
    const otherId =
      /<UploadId>([^<]+)<\/UploadId>/.exec(await (await fetch(other.url, { method: 'POST' })).text())?.[1] ??
      '';
    const foreign = await signed({ method: 'PUT', key: created.key, uploadId: otherId, partNumber: 1 });
    expect((await fetch(foreign.url, { method: 'PUT', body: pdf(1024) })).status).toBe(404);
    for (const [key, id] of [
      [created.key, uploadId],
      [other.key, otherId],
    ]) {
      const abort = await signed({ method: 'DELETE', key, uploadId: id });
      expect((await fetch(abort.url, { method: 'DELETE' })).status).toBe(204);
    }
    expect(await stowage.backend('docs').leftovers()).toEqual([]);
    const never = await finalize(created.key ?? '');
    expect([never.status, await errorCode(never)]).toEqual([404, 'DIRECT_UPLOAD_NOT_FOUND']);
  });
});

describe('direct uploads, refusals', () => {
  it('a key issued to another principal, an expired one, a tampered one: 403 to sign and to finalize', async () => {
    const created = await signed({ method: 'POST', key: 'x.pdf' });
    const key = created.key ?? '';
    const forBob = await sign({ method: 'GET', key, uploadId: 'any' }, BOB);
    expect([forBob.status, await errorCode(forBob)]).toEqual([403, 'DIRECT_KEY_REFUSED']);
    expect((await finalize(key, BOB)).status).toBe(403);

    // Issued with the server's secret, an expiry in the past.
    const expired = issueKey(
      { expiresAt: Date.now() - 1000 },
      { storage: 'docs', principal: 'api-key:alice', keyPrefix: '' },
      directKeyFor(SECRET),
    ).key;
    const late = await sign({ method: 'PUT', key: expired, uploadId: 'any', partNumber: 1 });
    expect([late.status, await errorCode(late)]).toEqual([403, 'DIRECT_KEY_EXPIRED']);
    expect((await finalize(expired)).status).toBe(403);

    const [stem, payload, mac] = key.split('.');
    const altered = Buffer.from(payload ?? '', 'base64url')
      .toString('utf8')
      .replace(/"e":\d+/, '"e":9999999999999');
    const tampered = [stem, Buffer.from(altered).toString('base64url'), mac].join('.');
    const forged = await sign({ method: 'GET', key: tampered, uploadId: 'any' });
    expect([forged.status, await errorCode(forged)]).toEqual([403, 'DIRECT_KEY_REFUSED']);
    expect((await finalize(tampered)).status).toBe(403);
  });

  it('bytes that lie about their type: 415 at finalize, nothing at the final key, staging removed', async () => {
    const before = await stowage.backend('docs').keys('docs/');
    const key = await putDirect(Buffer.from('<html><script>alert(1)</script></html>'), 'image/png', 'x.png');
    const done = await finalize(key);
    expect([done.status, await errorCode(done)]).toEqual([415, 'CONTENT_TYPE_MISMATCH']);
    expect(await stagedKeys()).toEqual([]);
    expect(await stowage.backend('docs').keys('docs/')).toEqual(before);
  });

  it('over maxFileSize: 413 at sign when declared (a refused type: 415), at finalize when not (staging removed)', async () => {
    const declared = await sign({ method: 'PUT', key: 'x.pdf', size: 13 * MiB });
    expect([declared.status, await errorCode(declared)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const html = await sign({ method: 'POST', key: 'x.html', contentType: 'text/html' });
    expect([html.status, await errorCode(html)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const key = await putDirect(pdf(12 * MiB + 1), 'application/pdf');
    const done = await finalize(key);
    expect([done.status, await errorCode(done)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await stagedKeys()).toEqual([]);
  });

  /** A multipart upload of an issued key, opened through its signed CreateMultipartUpload. */
  async function openUpload(name: string) {
    const created = await signed({ method: 'POST', key: name });
    const init = await fetch(created.url, { method: 'POST', headers: { 'content-type': 'application/pdf' } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await init.text())?.[1] ?? '';
    return { key: created.key ?? '', uploadId };
  }
  /** Sends one part through its signed URL; answers S3's ETag of it. */
  async function sendPart(upload: { key: string; uploadId: string }, partNumber: number, data: Buffer) {
    const part = await signed({ method: 'PUT', ...upload, partNumber });
    const sent = await fetch(part.url, { method: 'PUT', body: data });
    expect(sent.status).toBe(200);
    return sent.headers.get('etag') ?? '';
  }
  /** Sends a CompleteMultipartUpload naming `parts`, signed for `upload`'s key and upload id. */
  async function complete(upload: { key: string; uploadId: string }, parts: Array<[number, string]>) {
    const signedComplete = await signed({ method: 'POST', ...upload });
    const xml = `<CompleteMultipartUpload>${parts.map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    return fetch(signedComplete.url, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: xml,
    });
  }

  it('completion naming a missing part or another upload’s part: refused by S3 (4xx), nothing promoted', async () => {
    const before = await stowage.backend('docs').keys('docs/');
    const mine = await openUpload('mine.pdf');
    const first = await sendPart(mine, 1, pdf(5 * MiB));
    const last = await sendPart(mine, 2, pdf(1024));
    const theirs = await openUpload('theirs.pdf');
    const foreign = await sendPart(theirs, 1, pdf(2048));

    const missing = await complete(mine, [
      [1, first],
      [3, last],
    ]);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('InvalidPart');
    const borrowed = await complete(mine, [
      [1, first],
      [2, foreign],
    ]);
    expect(borrowed.status).toBe(400);
    expect(await borrowed.text()).toContain('InvalidPart');
    // Nothing was completed, so nothing can be finalized, and no final key appeared.
    for (const upload of [mine, theirs]) {
      const early = await finalize(upload.key);
      expect([early.status, await errorCode(early)]).toEqual([409, 'DIRECT_UPLOAD_INCOMPLETE']);
    }
    expect(await stowage.backend('docs').keys('docs/')).toEqual(before);
    expect(await stagedKeys()).toEqual([]);
    for (const upload of [mine, theirs]) {
      const abort = await signed({ method: 'DELETE', ...upload });
      expect((await fetch(abort.url, { method: 'DELETE' })).status).toBe(204);
    }
    expect(await stowage.backend('docs').leftovers()).toEqual([]);
  });

  it('an expired presigned PUT and an expired POST policy: refused by S3, nothing staged', async () => {
    const put = await signed({ method: 'PUT', key: 'late.pdf', expiresIn: 1 });
    const post = (await signed({
      method: 'POST',
      key: 'late.pdf',
      postPolicy: true,
      expiresIn: 1,
    })) as Signed & {
      fields?: Record<string, string>;
    };
    // Past both expiries (whole seconds in the URL and the policy).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const sent = await fetch(put.url, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', ...put.headers },
      body: pdf(1024),
    });
    expect(sent.status).toBe(403);
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields ?? {})) form.append(name, value);
    form.append('Content-Type', 'application/pdf');
    form.append('file', new Blob([new Uint8Array(pdf(1024))], { type: 'application/pdf' }), 'late.pdf');
    const posted = await fetch(post.url, { method: 'POST', body: form });
    expect(posted.status).toBe(403);
    expect(await stagedKeys()).toEqual([]);
    for (const key of [put.key ?? '', post.key ?? '']) {
      const done = await finalize(key);
      expect([done.status, await errorCode(done)]).toEqual([404, 'DIRECT_UPLOAD_NOT_FOUND']);
    }
  });

  it('finalize of a key nothing was uploaded to: 404', async () => {
    const target = await signed({ method: 'PUT', key: 'x.pdf' });
    const done = await finalize(target.key ?? '');
    expect([done.status, await errorCode(done)]).toEqual([404, 'DIRECT_UPLOAD_NOT_FOUND']);
  });

  it('a local storage, and a public one at its bucket root, answer 409 DIRECT_NOT_SUPPORTED', async () => {
    for (const storage of ['files', 'open']) {
      const answer = await sign({ method: 'PUT', key: 'x.pdf' }, ALICE, storage);
      expect([answer.status, await errorCode(answer)]).toEqual([409, 'DIRECT_NOT_SUPPORTED']);
    }
  });
});

describe('direct uploads, promotion above the single-copy limit', () => {
  // Only what the copy uses: the admin client, the bucket, the storage's profile, and a cleanup queue
  // for a copy that fails (the part writer's).
  const cleanups = createCleanups(60_000);
  afterAll(() => cleanups.close());
  const copyContext = () =>
    ({
      client: stowage.s3,
      bucket: stowage.buckets.docs ?? '',
      profile: stowage.config.storages.docs as S3ProfileConfig,
      reservationTtlSeconds: 60,
      connection: { requestTimeout: 30 },
      cleanups,
    }) as unknown as S3Context;

  it('copies in parts (UploadPartCopy) with the metadata of a form upload, create-only', async () => {
    const bucket = stowage.buckets.docs ?? '';
    const context = copyContext();
    const data = pdf(11 * MiB + 7);
    const from = `${DIRECT_STAGING_PREFIX}copy-test`;
    await stowage.s3.send(new PutObjectCommand({ Bucket: bucket, Key: from, Body: data }));
    const etag = (await stowage.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: from }))).ETag ?? '';
    const input = {
      from,
      etag,
      size: data.length,
      to: 'docs/copied.pdf',
      metadata: { contentType: 'application/pdf', contentDisposition: 'attachment', originalName: 'a.pdf' },
      writeId: 'copy-test',
    };
    const limits = { singleCopyMax: MiB, partSize: 5 * MiB };
    const info = await promoteStaged(context, input, limits);
    expect(info).toMatchObject({ size: data.length, contentType: 'application/pdf', originalName: 'a.pdf' });
    const stored = await stowage.backend('docs').object('docs/copied.pdf');
    expect(sha256(stored.body)).toBe(sha256(data));
    expect([stored.contentDisposition, stored.cacheControl]).toEqual(['attachment', 'max-age=60']);
    // Three parts: S3's multipart ETag says how many.
    expect(info.etag).toMatch(/-3"$/);
    await expect(promoteStaged(context, input, limits)).rejects.toMatchObject({ code: 'OBJECT_EXISTS' });
    expect(await stowage.backend('docs').leftovers()).toEqual([]);
    await stowage.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
  });

  it('a part copy that fails leaves no multipart upload and the key free to promote', async () => {
    const bucket = stowage.buckets.docs ?? '';
    const context = copyContext();
    const data = pdf(6 * MiB);
    const from = `${DIRECT_STAGING_PREFIX}copy-fails`;
    const input = {
      from,
      etag: '"0123456789abcdef0123456789abcdef"',
      size: data.length,
      to: 'docs/copy-fails.pdf',
      metadata: { contentType: 'application/pdf', contentDisposition: 'attachment', originalName: 'b.pdf' },
      writeId: 'copy-fails',
    };
    const limits = { singleCopyMax: MiB, partSize: 5 * MiB };
    // Nothing staged yet: S3 creates the multipart upload, then refuses the first part's copy.
    await expect(promoteStaged(context, input, limits)).rejects.toThrow();
    expect(await stowage.backend('docs').leftovers()).toEqual([]);
    await expect(
      stowage.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: input.to })),
    ).rejects.toMatchObject({
      name: 'NotFound',
    });
    // The reservation was released: the same key promotes once there is something to copy.
    await stowage.s3.send(new PutObjectCommand({ Bucket: bucket, Key: from, Body: data }));
    const etag = (await stowage.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: from }))).ETag ?? '';
    const info = await promoteStaged(context, { ...input, etag }, limits);
    expect(info.etag).toMatch(/-2"$/);
    expect(sha256((await stowage.backend('docs').object(input.to)).body)).toBe(sha256(data));
    await stowage.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: input.to }));
    await stowage.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
  });
});

/**
 * The docs storage built in the test (so its direct-upload port can be wrapped), a freshly issued
 * key for alice, and its bucket; the storage closed afterwards.
 */
async function withStaged(
  run: (setup: {
    storage: Storage;
    direct: DirectUploads;
    binding: KeyBinding;
    issued: IssuedKey;
    bucket: string;
  }) => Promise<void>,
): Promise<void> {
  const storages = createStorages(stowage.config, createLinks(stowage.config));
  try {
    const storage = storages.get('docs');
    const direct = storage?.driver.direct;
    if (!storage || !direct) throw new Error('the docs storage offers direct uploads');
    const binding = { storage: 'docs', principal: 'api-key:alice', keyPrefix: '' };
    const issued = issueKey({ expiresAt: Date.now() + 600_000 }, binding, directKeyFor(SECRET));
    await run({ storage, direct, binding, issued, bucket: stowage.buckets.docs ?? '' });
  } finally {
    await closeStorages(storages);
  }
}

describe('direct uploads, bytes sent again while finalize copies them', () => {
  it('the promoted object is checked again: other bytes are deleted, 412, nothing stored', async () => {
    await withStaged(async ({ storage, direct, binding, issued, bucket }) => {
      await stowage.s3.send(new PutObjectCommand({ Bucket: bucket, Key: issued.key, Body: pdf(64 * 1024) }));
      // What a client replaying its presigned PUT does between finalize's check and its copy: bytes
      // of a type the storage refuses. A server that honours the copy's source condition refuses the
      // copy; one that ignores it (Ceph RGW 16) copies them, and the second check catches it.
      const replaying = {
        ...direct,
        promote: async (input: Parameters<typeof direct.promote>[0]) => {
          const html = Buffer.from('<!doctype html><script>alert(1)</script>'.padEnd(64 * 1024, ' '));
          await stowage.s3.send(new PutObjectCommand({ Bucket: bucket, Key: issued.key, Body: html }));
          return direct.promote(input);
        },
      };
      await expect(
        finalizeDirect(storage, replaying, issued, binding, { warn: () => {} }),
      ).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
        status: 412,
      });
      const stored = await stowage.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `docs/${issued.id}` }),
      );
      expect(stored.Contents ?? []).toEqual([]);
      await expect(
        stowage.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: issued.key })),
      ).rejects.toMatchObject({
        name: 'NotFound',
      });
      expect(await stowage.backend('docs').leftovers()).toEqual([]);
    });
  });

  it('a promoted object S3 would not let us check is deleted, the staged one kept: the retry promotes it', async () => {
    await withStaged(async ({ storage, direct, binding, issued, bucket }) => {
      const data = pdf(64 * 1024);
      await stowage.s3.send(new PutObjectCommand({ Bucket: bucket, Key: issued.key, Body: data }));
      // The read of the final object's first bytes fails once (as S3 answering 503 would).
      let failed = false;
      const flaky = {
        ...direct,
        readHead: async (key: string, etag: string, bytes: number) => {
          if (key.startsWith('docs/') && !failed) {
            failed = true;
            throw Object.assign(new Error('S3 is unavailable'), { status: 503, code: 'STORAGE_UNAVAILABLE' });
          }
          return direct.readHead(key, etag, bytes);
        },
      };
      await expect(finalizeDirect(storage, flaky, issued, binding, { warn: () => {} })).rejects.toMatchObject(
        {
          status: 503,
        },
      );
      const listed = async () =>
        (await stowage.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `docs/${issued.id}` })))
          .Contents ?? [];
      expect(await listed()).toEqual([]);
      const staged = await stowage.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: issued.key }));
      expect(staged.ContentLength).toBe(data.length);
      // Sent again, finalize promotes and checks afresh.
      const done = await finalizeDirect(storage, direct, issued, binding, { warn: () => {} });
      expect(done.already).toBe(false);
      expect(sha256((await stowage.backend('docs').object(`docs/${done.key}`)).body)).toBe(sha256(data));
      await stowage.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `docs/${done.key}` }));
    });
  });
});
