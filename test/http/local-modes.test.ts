import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stowageApi } from '../support/api.ts';
import { form, text } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * What the local driver creates is owner-only by default (files 0600, directories 0700), or exactly
 * the configured local.fileMode / local.directoryMode: checked on everything under a storage's
 * directory after uploads over HTTP (multipart, raw PUT under nested keys, resumable finished and
 * half done) and a readiness check.
 */

/** Every path under `root` (itself included) with its permission bits, files and directories apart. */
async function modesUnder(
  root: string,
): Promise<{ files: Map<string, number>; directories: Map<string, number> }> {
  const files = new Map<string, number>();
  const directories = new Map<string, number>([[root, (await lstat(root)).mode & 0o777]]);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    (entry.isDirectory() ? directories : files).set(path, (await lstat(path)).mode & 0o777);
  }
  return { files, directories };
}

/** Creates a tus upload of `length` bytes and sends `data` in one PATCH: its answer. */
async function tusUpload(url: string, filename: string, data: string, length: number) {
  const tus = { 'tus-resumable': '1.0.0' };
  const created = await fetch(`${url}/v1/storages/files/uploads`, {
    method: 'POST',
    headers: {
      ...tus,
      'upload-length': String(length),
      'upload-metadata': `filename ${Buffer.from(filename).toString('base64')}`,
    },
  });
  return fetch(created.headers.get('location') ?? '', {
    method: 'PATCH',
    headers: { ...tus, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
    body: data,
  });
}

const octal = (modes: Map<string, number>) => new Set([...modes.values()].map((mode) => mode.toString(8)));

for (const [label, local, file, directory] of [
  ['by default', {}, '600', '700'],
  ['as configured', { fileMode: '0640', directoryMode: '0750' }, '640', '750'],
] as const)
  describe(`local files and directories ${label}`, () => {
    const stowage = useStowage({ storages: () => ({ files: { driver: 'local' } }), config: { local } });
    const api = stowageApi(stowage);

    it(`are created ${file} / ${directory}`, async () => {
      expect(
        (await api.upload('files', form({ name: 'a.txt', type: 'text/plain', data: text('a') }))).status,
      ).toBe(201);
      expect((await api.put('files', 'nested/deeper/b.txt', text('b'))).status).toBe(201);
      expect((await fetch(`${stowage.url}/readyz`)).status).toBe(200);
      // Resumable uploads: one finished, one left half done (its reservation and its state).
      expect((await tusUpload(stowage.url, 'c.txt', 'cc', 2)).status).toBe(200);
      expect((await tusUpload(stowage.url, 'd.txt', 'd', 2)).status).toBe(204);

      const storage = stowage.config.storages.files;
      const { files, directories } = await modesUnder(storage?.driver === 'local' ? storage.directory! : '');
      // a.txt, b.txt, c.txt, d.txt's reservation, and its upload.json and data.
      expect(files.size).toBe(6);
      // The storage directory, objects/, .tmp/, nested/, nested/deeper/, .resumable/ and d.txt's.
      expect(directories.size).toBe(7);
      expect(octal(files)).toEqual(new Set([file]));
      expect(octal(directories)).toEqual(new Set([directory]));
    });
  });
