import { parse } from 'content-disposition';
import { describe, expect, it } from 'vitest';
import { exchange, request } from '../fuzz/wire.ts';
import { stowageApi } from '../support/api.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Download names. Browsers send a non-ASCII filename as raw UTF-8 inside a multipart
 * `filename="…"`; it must arrive intact, come back exactly in `filename*` (RFC 5987), and read as
 * something a human recognises in the plain `filename` that curl -O -J and other simple clients use.
 */
const NAME = 'Ünïcödé ファイル 名前.png';

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(forDriver(driver, { files: {} }));
    const api = stowageApi(stowage);

    it('a raw UTF-8 multipart filename (as browsers send it) is kept exactly and downloads readably', async () => {
      const boundary = 'stowage-names-boundary';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="`, 'latin1'),
        Buffer.from(NAME, 'utf8'), // raw bytes, no encoding of any kind
        Buffer.from(`"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`, 'latin1'),
      ]);
      const { port } = new URL(stowage.url);
      const answer = await exchange(
        Number(port),
        {
          parts: [
            request(
              'POST',
              '/v1/storages/files/objects',
              [['Content-Type', `multipart/form-data; boundary=${boundary}`]],
              body,
            ),
          ],
        },
        10_000,
      );
      expect(answer.status, answer.body.toString()).toBe(201);
      const [stored] = (
        JSON.parse(answer.body.toString('utf8')) as { objects: Array<{ key: string; originalName: string }> }
      ).objects;
      expect(stored?.originalName).toBe(NAME);

      const read = await api.object('files', stored!.key, { method: 'HEAD' });
      const header = read.headers.get('content-disposition') ?? '';
      // What plain clients read: a readable transliteration, not a "?" per character.
      expect(header).toMatch(/^inline; filename="Unicode fuairu MingQian\.png"; filename\*=UTF-8''/);
      // What browsers read: exactly the uploaded name.
      expect(parse(header).parameters.filename).toBe(NAME);
      expect((await api.object('files', stored!.key, { method: 'DELETE' })).status).toBe(204);
    });
  });
