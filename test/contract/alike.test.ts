import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { text } from '../support/payloads.ts';
import { type Driver, forDriver, useStowage } from '../support/stowage.ts';

/**
 * The drivers answer alike: the same requests give the same statuses, headers and bodies on S3 and on
 * local disk — no header only one driver sends, no backend diagnostics (S3 codes, operations, errnos)
 * in error bodies; those go to logs and metrics.
 */
const profiles = { files: { prefix: 'alike/', maxFileSize: '1MiB' } };
// One receipt secret: both sign with the same key, so their receipts differ only in the time.
const config = { receipts: { secret: 'alike-receipts-secret-alike-receipts-secret' } };
const stowages = {
  s3: useStowage({ ...forDriver('s3', profiles), config }),
  local: useStowage({ ...forDriver('local', profiles), config }),
};

/** A receipt as what it says (header and claims), without its time and hence its signature. */
function receiptClaims(receipt: string) {
  const [header, payload] = receipt
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  const { iat, ...claims } = payload as { iat: number };
  expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(120);
  return { header, claims };
}

/** Headers whose values differ between any two responses (time, connection, request id). */
const varying = new Set([
  'date',
  'connection',
  'keep-alive',
  'x-request-id',
  'last-modified',
  'transfer-encoding',
]);

async function answerOf(response: Response) {
  const headers = Object.fromEntries(
    [...response.headers].filter(([name]) => !varying.has(name)).sort(([a], [b]) => a.localeCompare(b)),
  );
  const raw = await response.text();
  const body = headers['content-type']?.startsWith('application/json') ? JSON.parse(raw) : raw;
  if (typeof body === 'object' && typeof body.receipt === 'string')
    body.receipt = receiptClaims(body.receipt);
  return { status: response.status, headers, body };
}

/** The same requests against one driver's Stowage, each answer reduced to what must not differ. */
async function scenario(driver: Driver) {
  const api = stowageApi(stowages[driver]);
  const url = `${stowages[driver].url}/v1/storages/files/objects`;
  const put = (body: string) =>
    fetch(`${url}/a.txt`, {
      method: 'PUT',
      body: text(body),
      headers: { 'content-type': 'text/plain', 'content-disposition': 'attachment; filename="a.txt"' },
    });
  const answers = {
    created: await answerOf(await put('one body, the same on both drivers')),
    exists: await answerOf(await put('another body')),
    read: await answerOf(await api.object('files', 'a.txt')),
    head: await answerOf(await api.object('files', 'a.txt', { method: 'HEAD' })),
    range: await answerOf(await api.object('files', 'a.txt', { headers: { range: 'bytes=1000-2000' } })),
    missing: await answerOf(await api.object('files', 'missing.txt')),
    deleted: await answerOf(await api.object('files', 'a.txt', { method: 'DELETE' })),
  };
  return answers;
}

describe('S3 and local drivers', () => {
  it('answer the same requests with the same statuses, headers and bodies', async () => {
    const s3 = await scenario('s3');
    const local = await scenario('local');
    expect(local).toEqual(s3);
    // What the scenario covered, so equality is not of two empty answers.
    expect(s3.created.status).toBe(201);
    expect(s3.exists.body).toEqual({
      error: { code: 'OBJECT_EXISTS', message: 'An object with this key already exists' },
    });
    expect(s3.read.headers['x-checksum-sha256']).toBeUndefined();
    expect(s3.range.status).toBe(416);
    expect(s3.missing.body.error.code).toBe('OBJECT_NOT_FOUND');
    expect(await stowages.s3.backend('files').keys()).toEqual([]);
    expect(await stowages.local.backend('files').keys()).toEqual([]);
  });
});
