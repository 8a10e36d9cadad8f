import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LEASE_TTL_MS } from '../../src/storage/drivers/s3/lease.ts';
import { type BackendInspector, contents } from '../support/backend.ts';
import { form, pdf, png, sha256 } from '../support/payloads.ts';
import { type ContractProfile, DRIVERS, forDriver, useStowage } from '../support/stowage.ts';
import { type StowageProcess, s3Connection, startStowageProcess } from '../support/stowage-process.ts';

/**
 * tus 1.0 on the wire, the same assertions on both drivers: the protocol driven with raw fetch
 * (every status the routes answer), then tus-js-client (Node) with small chunks. What landed, or was
 * left, is asked of the backend itself; another Stowage process on the same bucket or directory
 * continues an upload the first one began.
 */
const MiB = 2 ** 20;
const SECRET = 'a-resumable-secret-of-at-least-32-chars';
const profiles: Record<string, ContractProfile> = {
  tus: { partSize: '5MiB', maxFileSize: '64MiB', cacheControl: 'private, max-age=60' },
  images: { partSize: '5MiB', maxFileSize: '64MiB', allowedTypes: ['image/png'] },
};
const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

const errorCode = async (answer: Response) =>
  ((await answer.json()) as { error: { code: string } }).error.code;

/** Keys and leftovers now, to compare with what a test leaves: earlier tests' objects stay. */
async function snapshot(backend: BackendInspector) {
  const { keys, leftovers } = await contents(backend);
  return { keys: keys.sort(), leftovers: leftovers.sort() };
}

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage({
      ...forDriver(driver, profiles),
      config: { resumable: { secret: SECRET } },
    });
    // Uploads that expire within a second, to see them answer 410.
    const expiring = useStowage({
      ...forDriver(driver, { tus: profiles.tus! }),
      config: { resumable: { secret: SECRET, expiry: '1s' } },
    });
    // Another process on the first one's bucket or directory, with the same secret: no state shared
    // but the backend's.
    let other: StowageProcess | undefined;
    beforeAll(async () => {
      const profile = profiles.tus!;
      const { partSize, ...shared } = profile;
      const parsed = stowage.config.storages.tus;
      const storage =
        driver === 's3'
          ? { driver, bucket: stowage.buckets.tus, ...profile }
          : { driver, directory: parsed?.driver === 'local' ? parsed.directory : undefined, ...shared };
      other = await startStowageProcess(
        {
          server: { logLevel: 'warn' },
          s3: s3Connection(inject('s3')),
          local: { root: stowage.config.local.root },
          auth: { anonymousGrants: ['*:*'] },
          resumable: { secret: SECRET },
          storages: { tus: storage },
        },
        { label: `resumable-${driver}` },
      );
      // Its startup check probes the directory (a temp file): done before any test looks there.
      while ((await fetch(`${other.url}/readyz`)).status !== 200)
        await new Promise((resolve) => setTimeout(resolve, 50));
    });
    afterAll(async () => {
      await other?.kill();
    });

    const create = (
      storage: string,
      length: number,
      metadata = `filename ${b64('Grüße.pdf')},filetype ${b64('application/pdf')}`,
      base = stowage.url,
    ) =>
      fetch(`${base}/v1/storages/${storage}/uploads`, {
        method: 'POST',
        headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': metadata },
      });
    const locationOf = async (created: Promise<Response>) => (await created).headers.get('location') ?? '';

    const patchHeaders = (offset: number) => ({
      ...TUS,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    });
    const patch = (location: string, offset: number, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(location, { method: 'PATCH', headers: { ...patchHeaders(offset), ...headers }, body });

    /** A PATCH whose body is sent chunked (no Content-Length), so only the store can see its length. */
    const streamedPatch = (location: string, offset: number, chunks: Buffer[]) =>
      fetch(location, {
        method: 'PATCH',
        headers: patchHeaders(offset),
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);

    const offsetOf = async (location: string) =>
      (await fetch(location, { method: 'HEAD', headers: TUS })).headers.get('upload-offset');

    describe('raw protocol', () => {
      it('OPTIONS answers the capabilities without credentials', async () => {
        const answer = await fetch(`${stowage.url}/v1/storages/tus/uploads`, { method: 'OPTIONS' });
        expect(answer.status).toBe(204);
        expect(answer.headers.get('tus-version')).toBe('1.0.0');
        expect(answer.headers.get('tus-extension')).toBe(
          'creation,creation-with-upload,termination,expiration',
        );
        expect(answer.headers.get('tus-max-size')).toBe(String(64 * MiB));
      });

      it('create, HEAD, PATCH in 1 MiB chunks, a wrong offset 409, the last PATCH answers the object, GET serves it', async () => {
        const before = await snapshot(stowage.backend('tus'));
        const data = pdf(6 * MiB + 321);
        const created = await create('tus', data.length);
        expect(created.status).toBe(201);
        expect(created.headers.get('upload-expires')).toMatch(/GMT$/);
        const location = created.headers.get('location') ?? '';
        expect(location).toMatch(new RegExp(`^${stowage.url}/v1/storages/tus/uploads/u1\\.`));
        const head = await fetch(location, { method: 'HEAD', headers: TUS });
        expect([head.status, head.headers.get('upload-offset'), head.headers.get('upload-length')]).toEqual([
          200,
          '0',
          String(data.length),
        ]);
        let offset = 0;
        let last: Response | undefined;
        while (offset < data.length) {
          last = await patch(location, offset, data.subarray(offset, offset + MiB));
          offset = Math.min(offset + MiB, data.length);
          expect(last.headers.get('upload-offset')).toBe(String(offset));
          if (offset < data.length) {
            expect(last.status).toBe(204);
            const wrong = await patch(location, offset - 1, Buffer.from('x'));
            expect([wrong.status, await errorCode(wrong), wrong.headers.get('upload-offset')]).toEqual([
              409,
              'UPLOAD_OFFSET_MISMATCH',
              String(offset),
            ]);
          }
        }
        expect(last?.status).toBe(200);
        const receipt = (await last?.json()) as { key: string; size: number; contentType: string };
        expect(receipt).toMatchObject({
          size: data.length,
          contentType: 'application/pdf',
          originalName: 'Grüße.pdf',
        });
        const stored = await stowage.backend('tus').object(receipt.key);
        expect(sha256(stored.body)).toBe(sha256(data));
        expect(stored.contentDisposition).toContain("filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf");
        const got = await fetch(location);
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
        expect(await offsetOf(location)).toBe(String(data.length));
        const again = await fetch(location, { method: 'DELETE', headers: TUS });
        expect([again.status, await errorCode(again)]).toEqual([410, 'UPLOAD_FINISHED']);
        // The object, and nothing else of the upload.
        expect(await snapshot(stowage.backend('tus'))).toEqual({
          keys: [...before.keys, receipt.key].sort(),
          leftovers: before.leftovers,
        });
      });

      it('refusals: no Tus-Resumable 412, Upload-Length over maxFileSize 413, PATCH of another type 415, past the length, a forged id 404', async () => {
        const noVersion = await fetch(`${stowage.url}/v1/storages/tus/uploads`, {
          method: 'POST',
          headers: { 'upload-length': '10' },
        });
        expect([noVersion.status, await errorCode(noVersion), noVersion.headers.get('tus-version')]).toEqual([
          412,
          'TUS_VERSION_UNSUPPORTED',
          '1.0.0',
        ]);
        const tooLarge = await create('tus', 64 * MiB + 1);
        expect([tooLarge.status, await errorCode(tooLarge)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
        const location = await locationOf(create('tus', 100));
        const wrongType = await patch(location, 0, Buffer.alloc(10), { 'content-type': 'application/pdf' });
        expect(wrongType.status).toBe(415);
        const past = await patch(location, 0, Buffer.alloc(101));
        expect([past.status, await errorCode(past)]).toEqual([400, 'UPLOAD_PAST_LENGTH']);
        const forged = `${location.slice(0, -3)}AAA`;
        const unknown = await fetch(forged, { method: 'HEAD', headers: TUS });
        expect(unknown.status).toBe(404);
        expect((await fetch(location, { method: 'DELETE', headers: TUS })).status).toBe(204);
      });

      it('a body past Upload-Length without a Content-Length: refused by the store, nothing of it kept', async () => {
        const data = pdf(100);
        const location = await locationOf(create('tus', data.length));
        expect((await patch(location, 0, data.subarray(0, 30))).status).toBe(204);
        const past = await streamedPatch(location, 30, [data.subarray(30, 80), Buffer.alloc(60)]);
        expect([past.status, await errorCode(past)]).toEqual([400, 'UPLOAD_PAST_LENGTH']);
        expect(await offsetOf(location)).toBe('30');
        const rest = await streamedPatch(location, 30, [data.subarray(30, 80), data.subarray(80)]);
        expect(rest.status).toBe(200);
        const got = await fetch(location);
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
      });

      it('a type the storage refuses, sniffed from the first bytes: 415, the upload terminated, nothing stored', async () => {
        const data = pdf(2 * MiB);
        const location = await locationOf(create('images', data.length, `filetype ${b64('image/png')}`));
        const refused = await patch(location, 0, data.subarray(0, MiB));
        expect(refused.status).toBe(415);
        expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
        expect(await contents(stowage.backend('images'))).toEqual({ keys: [], leftovers: [] });
      });

      it('the same when the first PATCH is too short to sniff: the PATCH that brings the bytes is refused', async () => {
        const data = pdf(2 * MiB);
        const location = await locationOf(create('images', data.length, `filetype ${b64('image/png')}`));
        expect((await patch(location, 0, data.subarray(0, 100))).status).toBe(204);
        const refused = await patch(location, 100, data.subarray(100));
        expect([refused.status, await errorCode(refused)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
        expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
        expect(await contents(stowage.backend('images'))).toEqual({ keys: [], leftovers: [] });
      });

      it('termination: 204, then the upload is gone (404) and nothing of it is left', async () => {
        const before = await snapshot(stowage.backend('tus'));
        const data = pdf(7 * MiB);
        const location = await locationOf(create('tus', data.length));
        expect((await patch(location, 0, data.subarray(0, 6 * MiB))).status).toBe(204);
        const terminated = await fetch(location, { method: 'DELETE', headers: TUS });
        expect(terminated.status).toBe(204);
        expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
        expect(await snapshot(stowage.backend('tus'))).toEqual(before);
        expect((await patch(location, 6 * MiB, data.subarray(6 * MiB))).status).toBe(404);
        // A PATCH of an ended upload leaves nothing either (not even the lease it took to look).
        expect(await snapshot(stowage.backend('tus'))).toEqual(before);
      });

      it('expiry: past Upload-Expires every request answers 410 UPLOAD_EXPIRED', async () => {
        const data = pdf(1000);
        const location = await locationOf(create('tus', data.length, undefined, expiring.url));
        expect((await patch(location, 0, data.subarray(0, 10))).status).toBe(204);
        const expires = Date.parse(
          (await fetch(location, { method: 'HEAD', headers: TUS })).headers.get('upload-expires') ?? '',
        );
        // The header has whole seconds: the expiry itself is up to a second later.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires + 1000 - Date.now()) + 50));
        expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(410);
        const late = await patch(location, 10, data.subarray(10));
        expect([late.status, await errorCode(late)]).toEqual([410, 'UPLOAD_EXPIRED']);
      });

      it('a second PATCH while one is running: 423 at once and for as long as it runs; the first one finishes its chunk', async () => {
        const data = pdf(2 * MiB);
        const location = await locationOf(create('tus', data.length));
        let finish: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          finish = resolve;
        });
        let sent: () => void = () => {};
        const started = new Promise<void>((resolve) => {
          sent = resolve;
        });
        const slow = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(data.subarray(0, MiB));
            sent();
            await held;
            controller.close();
          },
        });
        const first = fetch(location, {
          method: 'PATCH',
          headers: patchHeaders(0),
          body: slow,
          duplex: 'half',
        } as RequestInit);
        await started;
        // The lease is taken before the body is read: give the first request its turn (a probe that
        // came first would hold the lease for a moment and refuse the first request instead).
        await new Promise((resolve) => setTimeout(resolve, 300));
        let second: Response | undefined;
        for (let attempt = 0; attempt < 50; attempt++) {
          second = await patch(location, 0, Buffer.alloc(0)); // harmless if it comes first
          if (second.status === 423) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect([second?.status, second && (await errorCode(second))]).toEqual([423, 'UPLOAD_LOCKED']);
        // Past twice the S3 lease's TTL the first request still holds it: it renews it while it runs.
        await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_TTL_MS));
        const later = await patch(location, 0, Buffer.alloc(0));
        expect([later.status, await errorCode(later)]).toEqual([423, 'UPLOAD_LOCKED']);
        finish();
        const answer = await first;
        expect([answer.status, answer.headers.get('upload-offset')]).toEqual([204, String(MiB)]);
        expect((await patch(location, MiB, data.subarray(MiB))).status).toBe(200);
      });

      it('another Stowage process on the same backend continues the upload and completes it', async () => {
        const data = pdf(3 * MiB + 17);
        const location = await locationOf(create('tus', data.length));
        expect((await patch(location, 0, data.subarray(0, MiB))).status).toBe(204);
        const elsewhere = location.replace(stowage.url, other?.url ?? '');
        expect(await offsetOf(elsewhere)).toBe(String(MiB));
        expect((await patch(elsewhere, MiB, data.subarray(MiB, 2 * MiB))).status).toBe(204);
        expect(await offsetOf(location)).toBe(String(2 * MiB));
        const last = await patch(elsewhere, 2 * MiB, data.subarray(2 * MiB));
        expect(last.status).toBe(200);
        const got = await fetch(location);
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
      });

      it('the stored object is what a form upload of the same file stores: type, disposition, name, cache headers', async () => {
        const data = png(300_000);
        const name = 'Füße am Strand.png';
        const posted = await fetch(`${stowage.url}/v1/storages/tus/objects`, {
          method: 'POST',
          body: form({ name, type: 'image/png', data }),
        });
        const [viaForm] = ((await posted.json()) as { objects: Array<{ key: string; contentType: string }> })
          .objects;
        const location = await locationOf(
          create('tus', data.length, `filename ${b64(name)},filetype ${b64('image/png')}`),
        );
        const finished = await patch(location, 0, data);
        expect(finished.status).toBe(200);
        const viaTus = (await finished.json()) as { key: string; contentType: string };
        // Both carry a receipt (of their own key); a resumable upload's has no checksum.
        expect({ ...viaTus, key: undefined, etag: undefined, receipt: expect.any(String) }).toEqual({
          ...viaForm,
          key: undefined,
          etag: undefined,
          checksum: undefined,
          receipt: expect.any(String),
        });
        const [formStored, tusStored] = await Promise.all(
          [viaForm!.key, viaTus.key].map((key) => stowage.backend('tus').object(key)),
        );
        expect({ ...tusStored, body: undefined }).toEqual({ ...formStored, body: undefined });
        expect(tusStored!.body.equals(data)).toBe(true);
        const headers = async (key: string) => {
          const read = await fetch(`${stowage.url}/v1/storages/tus/objects/${key}`);
          await read.arrayBuffer();
          return ['content-type', 'content-disposition', 'cache-control', 'content-length'].map((header) =>
            read.headers.get(header),
          );
        };
        expect(await headers(viaTus.key)).toEqual(await headers(viaForm!.key));
      });
    });

    function tusUpload(data: Buffer, options: Partial<tus.UploadOptions>): Promise<tus.Upload> {
      return new Promise((resolve, reject) => {
        const upload: tus.Upload = new tus.Upload(data, {
          endpoint: `${stowage.url}/v1/storages/tus/uploads`,
          metadata: { filename: 'picture.png', filetype: 'image/png' },
          retryDelays: [0, 100],
          ...options,
          onSuccess: () => resolve(upload),
          onError: reject,
        });
        upload.start();
      });
    }

    describe('tus-js-client (Node)', () => {
      it('uploads 12 MiB in 1 MiB chunks: bytes identical, the stored type as a form upload', async () => {
        const data = png(12 * MiB);
        const upload = await tusUpload(data, { chunkSize: MiB });
        const id = upload.url?.split('/').at(-1) ?? '';
        const got = await fetch(upload.url ?? '');
        expect(got.headers.get('content-type')).toBe('image/png');
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
        expect(id).toMatch(/^u1\./);
      });

      it('pause and resume: a second client continues from the offset the first reached', async () => {
        const data = png(9 * MiB);
        let firstUrl = '';
        await new Promise<void>((resolve, reject) => {
          const first: tus.Upload = new tus.Upload(data, {
            endpoint: `${stowage.url}/v1/storages/tus/uploads`,
            chunkSize: MiB,
            metadata: { filename: 'paused.png', filetype: 'image/png' },
            onChunkComplete: (_chunk, sent) => {
              if (sent >= 3 * MiB) {
                firstUrl = first.url ?? '';
                first.abort().then(resolve, reject);
              }
            },
            onError: reject,
          });
          first.start();
        });
        expect(Number(await offsetOf(firstUrl))).toBeGreaterThanOrEqual(3 * MiB);
        const resumed: number[] = [];
        await tusUpload(data, {
          uploadUrl: firstUrl,
          chunkSize: 2 * MiB,
          onProgress: (sent) => resumed.push(sent),
        });
        expect(resumed[0]).toBeGreaterThanOrEqual(3 * MiB);
        const got = await fetch(firstUrl);
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
      });

      it('resumes on the other process: it continues from the offset the backend holds', async () => {
        const data = png(8 * MiB);
        const location = await locationOf(create('tus', data.length, `filetype ${b64('image/png')}`));
        expect((await patch(location, 0, data.subarray(0, 3 * MiB))).status).toBe(204);
        const elsewhere = location.replace(stowage.url, other?.url ?? '');
        const upload = await tusUpload(data, {
          uploadUrl: elsewhere,
          chunkSize: 2 * MiB,
          endpoint: `${other?.url}/v1/storages/tus/uploads`,
        });
        expect(upload.url).toBe(elsewhere);
        const got = await fetch(location);
        expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
      });
    });
  });
