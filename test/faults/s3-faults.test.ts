import { ListPartsCommand } from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contents } from '../support/backend.ts';
import { listMultipartUploads } from '../support/s3-admin.ts';
import { type SlowUpload, slowUpload } from '../support/slow-upload.ts';
import { useStowage } from '../support/stowage.ts';
import type { ProxyMode } from '../support/tcp-proxy.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * S3 failing under a running Stowage: a TCP proxy between the two stalls, resets, refuses or cuts
 * connections mid-stream, switched at runtime. Uploads (one part and many, form and PUT), downloads
 * (before and after the response has started) and URL requests get a JSON 503/504 with the right code
 * within the configured deadline, nothing partial is stored (checked in Ceph directly, not through the
 * proxy), and once S3 passes traffic again the same app instance works fully: /readyz 200, uploads
 * and downloads succeed, and a failed upload's key can be written again.
 */
const MiB = 2 ** 20;
/** The storage's S3 requestTimeout: the deadline every failure must be answered within… */
const DEADLINE_MS = 2000;
/** …plus this (scheduling on a busy 2-core machine, the cleanup of an upload that S3 let down). */
const SLACK_MS = 1500;
/**
 * An S3 that refuses or resets connections is answered before any timeout could have fired (connect
 * and request timeouts are both DEADLINE_MS): no waiting on a dead server. Not a speed claim, so the
 * bound is the deadline itself, not a guess at how fast a loaded machine is (1 s once failed at 1.4 s).
 */
const REFUSED_MS = DEADLINE_MS;

const proxy = useS3Proxy();

/** Every test starts with S3 reachable (a failed one may have left the proxy failing). */
beforeEach(async () => {
  await proxy.setMode('pass');
});

const faultyProfile = (bucket: string | undefined, signPayload = true) => ({
  driver: 's3' as const,
  bucket: bucket ?? '',
  maxFileSize: '64MiB',
  partSize: '5MiB',
  queueSize: 2,
  s3: {
    endpoint: proxy.url,
    requestTimeout: `${DEADLINE_MS}ms`,
    connectTimeout: `${DEADLINE_MS}ms`,
    maxAttempts: 1,
    signPayload,
  },
});

const stowage = useStowage({
  buckets: ['faulty', 'streamed', 'chunked'],
  storages: (buckets) => ({
    faulty: faultyProfile(buckets.faulty),
    // A PUT with Content-Length streams to S3 as it arrives (one PutObject): unsigned here, in signed
    // chunks on `chunked`.
    streamed: faultyProfile(buckets.streamed, false),
    chunked: faultyProfile(buckets.chunked),
  }),
});

/** slowUpload's body without Content-Length: part by part, as `put` below. */
const CHUNKED = { 'transfer-encoding': 'chunked' };
const objects = () => `${stowage.url}/v1/storages/faulty/objects`;
/**
 * A raw PUT of unknown length (chunked, no Content-Length), so the faulty storage's writes take the
 * buffered paths: one PutObject for a body within a part, part by part past it. Bodies of known
 * length stream, signed or not; the streamed storage's suite below is about those.
 */
const put = (key: string, body: Buffer) =>
  fetch(`${objects()}/${key}`, {
    method: 'PUT',
    body: new Blob([new Uint8Array(body)]).stream(),
    headers: { 'content-type': 'application/octet-stream' },
    duplex: 'half',
  } as RequestInit);

async function timed<T>(action: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await action();
  return { value, ms: Date.now() - started };
}

/** A JSON error with this status and code, answered within `withinMs`. */
async function expectFailure(
  request: () => Promise<Response>,
  expected: { status: number; code: string },
  withinMs: number,
): Promise<void> {
  const { value: response, ms } = await timed(request);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error?: { code: string } };
  expect({ status: response.status, code: body.error?.code }).toEqual(expected);
  expect(ms).toBeLessThan(withinMs);
}

/** Sends the rest of a slow upload; its answer must be this JSON error, within the deadline. */
async function expectFinishedAnswer(upload: SlowUpload, expected: { status: number; code: string }) {
  const { value: answer, ms } = await timed(async () => {
    upload.finish();
    return upload.response;
  });
  expect({ status: answer.status, code: answer.body.error?.code }).toEqual(expected);
  expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
}

/** What Ceph itself holds under `prefix`: objects (reservations included) and multipart uploads. */
async function storedUnder(prefix: string, storage = 'faulty') {
  const { keys, leftovers } = await contents(stowage.backend(storage));
  return {
    keys: keys.filter((key) => key.startsWith(prefix)),
    leftovers: leftovers.filter((key) => key.startsWith(prefix)),
  };
}

/** Parts S3 holds for the key's multipart upload (0 while there is none). */
async function partsIn(key: string): Promise<number> {
  const Bucket = stowage.buckets.faulty ?? '';
  const open = (await listMultipartUploads(Bucket, stowage.s3)).find((upload) => upload.key === key);
  if (!open) return 0;
  const { Parts = [] } = await stowage.s3.send(
    new ListPartsCommand({ Bucket, Key: key, UploadId: open.uploadId }),
  );
  return Parts.length;
}

async function eventuallyNothingUnder(prefix: string, withinMs = 15_000, storage = 'faulty') {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const held = await storedUnder(prefix, storage);
    if ((held.keys.length === 0 && held.leftovers.length === 0) || Date.now() > deadline) return held;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The proxy passes again; the same app must work at once, reads and writes, one part and many. */
async function expectFullRecovery(tag: string): Promise<void> {
  await proxy.setMode('pass');
  expect((await fetch(`${stowage.url}/readyz`)).status).toBe(200);
  for (const size of [100 * 1024, 12 * MiB]) {
    const body = Buffer.alloc(size, size % 251);
    const key = `recovered/${tag}-${size}.bin`;
    expect((await put(key, body)).status).toBe(201);
    const read = await fetch(`${objects()}/${key}`);
    expect(read.status).toBe(200);
    expect(Buffer.from(await read.arrayBuffer()).equals(body)).toBe(true);
    expect((await fetch(`${objects()}/${key}`, { method: 'DELETE' })).status).toBe(204);
  }
}

/** A stored object to read while S3 fails: 12 MiB, so a download is still streaming when it breaks. */
const FIXTURE = 'fixture/big.bin';

beforeAll(async () => {
  expect((await put(FIXTURE, Buffer.alloc(12 * MiB, 3))).status).toBe(201);
});

const failures: Array<{ mode: ProxyMode; status: number; code: string; withinMs: number }> = [
  { mode: 'stall', status: 504, code: 'STORAGE_TIMEOUT', withinMs: DEADLINE_MS + SLACK_MS },
  { mode: 'reset', status: 503, code: 'STORAGE_UNAVAILABLE', withinMs: REFUSED_MS },
  { mode: 'refuse', status: 503, code: 'STORAGE_UNAVAILABLE', withinMs: REFUSED_MS },
];

describe.each(failures)('S3 that does "$mode"', ({ mode, status, code, withinMs }) => {
  const expected = { status, code };
  const prefix = `${mode}/`;

  it(`uploads get ${status} ${code} in time, and nothing is stored`, async () => {
    await proxy.setMode(mode);
    await expectFailure(() => put(`${prefix}single.bin`, Buffer.alloc(MiB, 1)), expected, withinMs);
    await expectFailure(() => put(`${prefix}multi.bin`, Buffer.alloc(12 * MiB, 1)), expected, withinMs);
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(MiB, 2)]), 'form.bin');
    await expectFailure(() => fetch(objects(), { method: 'POST', body: form }), expected, withinMs);
    expect(await storedUnder(prefix)).toEqual({ keys: [], leftovers: [] });
    await expectFullRecovery(`${mode}-uploads`);
    // A stalled S3 had those requests whole and carries them out once it resumes (the proxy forwards
    // what it held): the objects land after their 504s. Stowage retracts its own late writes (by write
    // id, at once and again a request timeout later), so eventually nothing is left.
    expect(await eventuallyNothingUnder(prefix)).toEqual({ keys: [], leftovers: [] });
  });

  it(`downloads and URL requests get ${status} ${code} in time; /readyz says so`, async () => {
    await proxy.setMode(mode);
    await expectFailure(() => fetch(`${objects()}/${FIXTURE}`), expected, withinMs);
    await expectFailure(
      () => fetch(`${objects()}/${FIXTURE}`, { headers: { range: 'bytes=0-99' } }),
      expected,
      withinMs,
    );
    await expectFailure(
      () =>
        fetch(`${stowage.url}/v1/storages/faulty/urls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: FIXTURE }),
        }),
      expected,
      withinMs,
    );
    const ready = await timed(() => fetch(`${stowage.url}/readyz`));
    expect(ready.value.status).toBe(503);
    expect(ready.ms).toBeLessThan(withinMs + 1000);
    await expectFullRecovery(`${mode}-reads`);
  });

  it('a download already streaming is cut short, not hung, and the server lives on', async () => {
    const response = await fetch(`${objects()}/${FIXTURE}`);
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = (await reader.read()).value?.length ?? 0;
    await proxy.setMode(mode);
    const { value: outcome, ms } = await timed(async () => {
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
          received += chunk.value.length;
        return 'complete';
      } catch {
        return 'cut';
      }
    });
    // Bytes already on their way may arrive; the whole object cannot (the stall holds back the rest).
    expect({ outcome, complete: received === 12 * MiB }).toEqual({ outcome: 'cut', complete: false });
    expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect((await fetch(`${stowage.url}/healthz`)).status).toBe(200);
    await expectFullRecovery(`${mode}-download`);
  });

  const midway = `${prefix}midway.bin`;

  it(`an upload that S3 fails after its first parts is answered ${status} within the deadline`, async () => {
    const upload = slowUpload(stowage.url, `/v1/storages/faulty/objects/${midway}`, 16 * MiB, CHUNKED);
    await upload.send(7 * MiB);
    // A part in S3: Stowage has the upload's id (a test below is about losing it).
    await expect.poll(() => partsIn(midway), { timeout: 10_000 }).toBeGreaterThan(0);
    await proxy.setMode(mode);
    await expectFinishedAnswer(upload, expected);
  });

  // Continues the test above: its multipart upload and reservation could not be removed while S3 failed.
  it('once S3 is back, that upload leaves nothing behind and its key can be written again', async () => {
    const { value: held, ms } = await timed(() => eventuallyNothingUnder(prefix));
    expect(held).toEqual({ keys: [], leftovers: [] });
    console.log(
      `[s3-faults] ${mode}: the failed upload's multipart upload and reservation gone ${ms} ms after S3 came back`,
    );
    const again = await put(midway, Buffer.alloc(6 * MiB, 4));
    expect(again.status).toBe(201);
    expect((await fetch(`${objects()}/${midway}`, { method: 'DELETE' })).status).toBe(204);
    await expectFullRecovery(`${mode}-midway`);
  });
});

describe.each(
  failures.flatMap((failure) => ['streamed', 'chunked'].map((storage) => ({ ...failure, storage }))),
)(
  'a PUT streamed to S3 as it arrives ($storage), when S3 does "$mode"',
  ({ mode, status, code, withinMs, storage }) => {
    const expected = { status, code };
    const prefix = `streamed-${mode}/`;
    const streamed = () => `${stowage.url}/v1/storages/${storage}/objects`;

    it(`is answered ${status} ${code} in time, and nothing is stored, even by a stalled S3 resuming`, async () => {
      await proxy.setMode(mode);
      await expectFailure(
        () =>
          fetch(`${streamed()}/${prefix}whole.bin`, {
            method: 'PUT',
            body: Buffer.alloc(12 * MiB, 6),
            headers: { 'content-type': 'application/octet-stream' },
          }),
        expected,
        withinMs,
      );
      await proxy.setMode('pass');
      // A stalled S3 may get the whole body once it resumes and store it: the write id retracts it.
      expect(await eventuallyNothingUnder(prefix, 15_000, storage)).toEqual({ keys: [], leftovers: [] });
    });

    it(`failing midway is answered ${status} within the deadline and leaves nothing`, async () => {
      const upload = slowUpload(stowage.url, `/v1/storages/${storage}/objects/${prefix}midway.bin`, 16 * MiB);
      await upload.send(7 * MiB);
      await proxy.setMode(mode);
      await expectFinishedAnswer(upload, expected);
      await proxy.setMode('pass');
      expect(await eventuallyNothingUnder(prefix, 15_000, storage)).toEqual({ keys: [], leftovers: [] });
      const again = slowUpload(stowage.url, `/v1/storages/${storage}/objects/${prefix}midway.bin`, 6 * MiB);
      again.finish();
      expect((await again.response).status).toBe(201);
    });
  },
);

describe('S3 connections cut mid-stream', () => {
  it('an upload whose part is cut on its way up gets 503, and nothing is stored', async () => {
    await proxy.setMode({ cutAfter: 512 * 1024, direction: 'up' });
    const expected = { status: 503, code: 'STORAGE_UNAVAILABLE' };
    await expectFailure(() => put('cut/single.bin', Buffer.alloc(MiB, 5)), expected, REFUSED_MS);
    await expectFailure(() => put('cut/multi.bin', Buffer.alloc(12 * MiB, 5)), expected, REFUSED_MS);
    expect(await eventuallyNothingUnder('cut/')).toEqual({ keys: [], leftovers: [] });
    await expectFullRecovery('cut-up');
  });

  it('a download cut on its way down ends short for the client, at once', async () => {
    await proxy.setMode({ cutAfter: 2 * MiB, direction: 'down' });
    const response = await fetch(`${objects()}/${FIXTURE}`);
    expect(response.status).toBe(200);
    const { value: body, ms } = await timed(() => response.arrayBuffer().catch(() => 'cut' as const));
    expect(body).toBe('cut');
    expect(ms).toBeLessThan(REFUSED_MS);
    await expectFullRecovery('cut-down');
  });
});

describe('S3 that creates a multipart upload but whose answer is lost', () => {
  it('answers 503 in time, aborts the upload it has no id for, and frees the key', async () => {
    const key = 'lost/answer.bin';
    await proxy.setMode({ loseAnswerTo: /^POST \S*\?uploads/m });
    const expected = { status: 503, code: 'STORAGE_UNAVAILABLE' };
    await expectFailure(() => put(key, Buffer.alloc(12 * MiB, 6)), expected, REFUSED_MS);
    await proxy.setMode('pass');
    // S3 created the upload, but its id never reached Stowage: while it still holds the key's
    // reservation, every upload of the key is its own, so it lists them and aborts them, then releases
    // the reservation.
    await expect.poll(() => storedUnder('lost/'), { timeout: 15_000 }).toEqual({ keys: [], leftovers: [] });
    expect((await put(key, Buffer.alloc(MiB, 6))).status).toBe(201);
    await expectFullRecovery('lost-answer');
  });
});

describe('S3 that completes a multipart upload but whose HeadObject answer is lost', () => {
  // Ceph leaves the ETag out of CompleteMultipartUpload, so Stowage asks HeadObject for it. When that
  // answer is lost the upload is stored but answered 503: the object must not outlive the answer.
  it('answers 503 and retracts the stored object once S3 answers again', async () => {
    const key = 'headless/stored.bin';
    await proxy.setMode({ loseAnswerTo: /^HEAD \S*headless\/stored\.bin/m });
    const expected = { status: 503, code: 'STORAGE_UNAVAILABLE' };
    await expectFailure(() => put(key, Buffer.alloc(12 * MiB, 7)), expected, DEADLINE_MS + SLACK_MS);
    await proxy.setMode('pass');
    expect(await eventuallyNothingUnder('headless/')).toEqual({ keys: [], leftovers: [] });
    expect((await put(key, Buffer.alloc(12 * MiB, 7))).status).toBe(201);
    expect((await fetch(`${objects()}/${key}`, { method: 'DELETE' })).status).toBe(204);
  });
});
