import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { form, png, text } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * Generated keys take their extension from what is stored, never from the client's filename alone:
 * recognised content gets its sniffed extension, known text types theirs, anything else none — so
 * an unrecognised body named `x.html` or `x.exe` is not published as `<id>.html` or `<id>.exe`.
 */

const HEX_ID = '[0-9a-f]{32}';

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(forDriver(driver, { files: {} }));
    const api = stowageApi(stowage);

    it.each([
      ['page.html', 'text/html', '', text('<script>alert(1)</script>')],
      ['logo.svg', 'image/svg+xml', '', text('<svg xmlns="http://www.w3.org/2000/svg"/>')],
      ['app.js', 'text/javascript', '', text('alert(1)')],
      ['setup.exe', 'application/octet-stream', '', text('not a recognisable binary')],
      ['install.sh', 'text/plain', '.txt', text('#!/bin/sh\necho hi\n')],
      ['notes.log', 'text/plain', '.log', text('a line\n')],
      ['photo.html', 'text/html', '.png', png()],
    ])('%s sent as %s gets a key ending "%s" (none when empty)', async (name, type, extension, data) => {
      const { status, json } = await api.upload('files', form({ name, type, data }));
      expect(status).toBe(201);
      const [stored] = json.objects;
      expect(stored?.key).toMatch(new RegExp(`^${HEX_ID}${extension.replace('.', '\\.')}$`));
      // The name is kept for downloads, only not in the key.
      expect(stored?.originalName).toBe(name);
    });
  });
