// What a storage's backend really holds, asked of the backend itself and never through Stowage: the
// same three questions for every driver, so "nothing stored, nothing left behind" reads alike in
// every suite. Keys are backend keys: the profile prefix included, as they land in the bucket.

import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readRecord } from '../../src/storage/drivers/local/metadata.ts';
import {
  decodeName,
  objectLocation,
  parseKey,
  storageLayout,
} from '../../src/storage/drivers/local/paths.ts';
import { listAllKeys, listMultipartUploads } from './s3-admin.ts';

export interface BackendInspector {
  /** Every stored key starting with `prefix`, in S3 order (by UTF-8 bytes). */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Writes begun and never finished: S3 multipart uploads in progress; local files in `.tmp/` and
   * resumable uploads' directories in `.resumable/` (S3 keeps those as keys under `.stowage-resumable/`).
   */
  leftovers(): Promise<string[]>;
  /** One stored object: its bytes, and the metadata a reader bypassing Stowage (CDN, presigned GET) gets. */
  object(key: string): Promise<StoredObject>;
}

export interface StoredObject {
  body: Buffer;
  contentType: string | undefined;
  cacheControl: string | undefined;
  contentDisposition: string | undefined;
}

export function s3Backend(bucket: string, client: S3Client): BackendInspector {
  return {
    keys: (prefix) => listAllKeys(bucket, prefix, client),
    leftovers: async () => (await listMultipartUploads(bucket, client)).map((upload) => upload.key),
    async object(key) {
      const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return {
        body: Buffer.from(await output.Body!.transformToByteArray()),
        contentType: output.ContentType,
        cacheControl: output.CacheControl,
        contentDisposition: output.ContentDisposition,
      };
    },
  };
}

/** Reads the directory the way the local driver lays it out, with the driver's own path and trailer code. */
export function localBackend(directory: string): BackendInspector {
  const { objectsRoot, tempRoot, resumableRoot } = storageLayout(directory);
  return {
    async keys(prefix = '') {
      const keys = (await keysUnder(objectsRoot, '')).filter((key) => key.startsWith(prefix));
      return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    },
    async leftovers() {
      const temps = await readdir(tempRoot).catch(orNothing);
      const resumable = await readdir(resumableRoot).catch(orNothing);
      return [...temps, ...resumable.map((name) => `.resumable/${name}`)];
    },
    async object(key) {
      const handle = await open(objectLocation(objectsRoot, parseKey(key)).file);
      try {
        const record = await readRecord(handle, (await handle.stat()).size);
        return {
          body: (await handle.readFile()).subarray(0, record.size),
          contentType: record.contentType,
          cacheControl: record.cacheControl,
          contentDisposition: record.contentDisposition,
        };
      } finally {
        await handle.close();
      }
    },
  };
}

/** The keys in a directory of the object tree; a name the driver would never write fails the test. */
async function keysUnder(directory: string, keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true }).catch(orNothing)) {
    const segment = decodeName(entry.name, entry.isFile());
    const path = join(directory, entry.name);
    if (segment === undefined || !(entry.isFile() || entry.isDirectory()))
      throw new Error(`${path} is not something the local driver writes`);
    if (entry.isFile()) keys.push(keyPrefix + segment);
    else keys.push(...(await keysUnder(path, `${keyPrefix}${segment}/`)));
  }
  return keys;
}

/** A directory that does not exist (yet) holds nothing. */
function orNothing(error: NodeJS.ErrnoException): never[] {
  if (error.code === 'ENOENT') return [];
  throw error;
}

/** Keys and leftovers together, so one assertion shows both when anything was kept. */
export async function contents(backend: BackendInspector): Promise<{ keys: string[]; leftovers: string[] }> {
  const [keys, leftovers] = await Promise.all([backend.keys(), backend.leftovers()]);
  return { keys, leftovers };
}
