import { describe, expect, it } from 'vitest';
import { contents } from '../support/backend.ts';
import { png } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';
import { objectsPath } from './case.ts';
import { CRLF, filePart, form, formType } from './multipart.ts';
import { exchange, request } from './wire.ts';

/**
 * Bugs the hostile corpus found, each pinned by the exact bytes that showed it (over a raw socket),
 * on both drivers. The corpus covers them too; these name them.
 */
for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(
      forDriver(driver, { files: { allowedTypes: ['image/png'], maxFileSize: '64KiB' } }),
    );
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
  });
