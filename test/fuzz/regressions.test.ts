import { describe, expect, it } from 'vitest';
import { contents } from '../support/backend.ts';
import { png } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';
import { objectsPath } from './case.ts';
import { CRLF, filePart, form, formType } from './multipart.ts';
import { exchange, head, request, type WireRequest } from './wire.ts';

/**
 * Bugs found while building the hostile corpus, each pinned by the exact bytes that showed it (over
 * a raw socket), on both drivers.
 */
for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage({
      ...forDriver(driver, { files: { allowedTypes: ['image/png'], maxFileSize: '64KiB' } }),
      // Room for the 64 KiB holder's part buffer below and nothing else (an S3 upload's buffer is at most
      // its Content-Length), so a second one waits for admission. Local uploads stream to disk and hold
      // no part buffer: they never queue, so the queued cases are the S3 driver's.
      config: { limits: { uploadMemory: '64KiB', uploadQueueTimeout: '3s' } },
    });
    const port = () => Number(new URL(stowage.url).port);

    it('a form that ends mid-part after a valid file: 400 INVALID_MULTIPART at once, the first file removed', async () => {
      // The whole body arrives at once: the parser fails the second part (no closing delimiter)
      // while the first file is still being stored, so the second part's stream is already
      // destroyed when its turn comes. Waiting for that stream's events used to hang the request
      // forever (the first file was never removed; only the idle timeout freed the socket).
      const boundary = 'cut-mid-part';
      const body = Buffer.concat([
        form(boundary, [filePart(png(2048))], { close: false }),
        Buffer.from(`--${boundary}${CRLF}`),
        filePart(png(4096)).headers,
        Buffer.from(CRLF + CRLF),
        png(1024),
      ]);
      const answer = await exchange(
        port(),
        { parts: [request('POST', objectsPath('files'), [['Content-Type', formType(boundary)]], body)] },
        5000,
      );
      expect(answer.outcome).toBe('response');
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString()).error.code).toBe('INVALID_MULTIPART');
      expect(await contents(stowage.backend('files'))).toEqual({ keys: [], leftovers: [] });
    });

    /**
     * Holds the only upload slot for ~1.5 s with a slow PUT; meanwhile `queued` is sent and its client
     * vanishes while the request waits for admission. Once the slot frees, a third upload must be
     * admitted at once. The queued request used to be granted its slot with a request already
     * destroyed, whose body never ended: the upload hung forever and its budget was never returned,
     * so every later upload waited and got 503.
     */
    async function vanishWhileQueued(queued: WireRequest) {
      const slow = png(64 * 1024);
      const holder = exchange(
        port(),
        {
          parts: [
            head(`PUT ${objectsPath('files')}/holder.png HTTP/1.1`, [
              ['Content-Type', 'image/png'],
              ['Content-Length', String(slow.length)],
            ]),
            slow.subarray(0, 1024),
            { pauseMs: 1500 },
            slow.subarray(1024),
          ],
        },
        8000,
      );
      await sleep(200);
      expect((await exchange(port(), { ...queued, finish: 'destroy' }, 5000)).outcome).toBe('client-gone');
      expect((await holder).status).toBe(201);
      const next = await exchange(
        port(),
        {
          parts: [
            request('PUT', `${objectsPath('files')}/next.png`, [['Content-Type', 'image/png']], png(1024)),
          ],
        },
        5000,
      );
      expect(next.status, next.body.toString()).toBe(201);
      expect(await contents(stowage.backend('files'))).toEqual({
        keys: ['holder.png', 'next.png'],
        leftovers: [],
      });
      for (const key of ['holder.png', 'next.png'])
        await exchange(port(), { parts: [request('DELETE', `${objectsPath('files')}/${key}`)] }, 5000);
    }

    it.runIf(driver === 's3')(
      'a PUT whose client vanishes mid-body while queued for admission gives its slot back',
      async () => {
        await vanishWhileQueued({
          parts: [
            head(`PUT ${objectsPath('files')}/queued.png HTTP/1.1`, [
              ['Content-Type', 'image/png'],
              ['Content-Length', '4096'],
            ]),
            png(1024),
            { pauseMs: 300 },
          ],
        });
      },
    );

    it.runIf(driver === 's3')(
      'a PUT whose client sent it whole, then vanished while queued, gives its slot back',
      async () => {
        await vanishWhileQueued({
          parts: [
            request('PUT', `${objectsPath('files')}/queued.png`, [['Content-Type', 'image/png']], png(1024)),
            { pauseMs: 300 },
          ],
        });
      },
    );

    // The same for a multipart upload: @fastify/multipart would pipe a request that is already
    // destroyed into busboy and wait for a 'close' that has fired (fixed in routes/uploads.ts).
    it.runIf(driver === 's3')(
      'a form whose client vanishes while queued for admission gives its slot back',
      async () => {
        const body = form('queued', [filePart(png(2048))]);
        await vanishWhileQueued({
          parts: [
            head(`POST ${objectsPath('files')} HTTP/1.1`, [
              ['Content-Type', formType('queued')],
              ['Content-Length', String(body.length)],
            ]),
            body.subarray(0, 1000),
            { pauseMs: 300 },
          ],
        });
      },
    );
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
