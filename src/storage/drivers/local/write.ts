import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, link, lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../errors.ts';
import type { PutInput, PutResult } from '../../driver.ts';
import { errorCode, storageError } from './io-errors.ts';
import type { KeyLocks } from './key-locks.ts';
import { encodeTrailer, type StoredRecord } from './metadata.ts';
import { type FileModes, makeDirectories } from './modes.ts';
import { objectLocation, parseKey, walkDirectories } from './paths.ts';
import { headObject } from './read.ts';

/**
 * Atomic writes: the body streams into `.tmp/<uuid>.part` (same filesystem as the object tree), hashed
 * on the way, gets its metadata trailer, is fsynced, and only then is published under its key in one
 * step: `link` for create-only (the kernel refuses an existing name with EEXIST, so of any number of
 * concurrent writers exactly one wins) or `rename` to replace. Until that step nothing is visible;
 * on any failure the temp file is removed.
 *
 * Replacing writes try `link` first, so they know whether they replaced an object (EEXIST) without a
 * separate look. A conditional replace (ifMatch) reads the stored ETag and renames under a per-key
 * lock (key-locks.ts) that every publish and delete of this driver takes: atomic within the process.
 * Two processes sharing one directory can interleave between that read and the rename.
 */

export interface Layout {
  storage: string;
  objectsRoot: string;
  tempRoot: string;
  locks: KeyLocks;
  modes: FileModes;
}

/** A temp file older than this belongs to a crashed process: live writes touch theirs far more often. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const PUBLISH_ATTEMPTS = 5;

export async function writeObject(layout: Layout, input: PutInput): Promise<PutResult> {
  const { key, body, signal } = input;
  // The body belongs to the caller: our own failures leave it alone (destroying an HTTP request would
  // drop the socket before the error response), but an abort destroys it. A late 'error' must never
  // go unheard and crash the process.
  body.on('error', () => {});
  const onAbort = () => body.destroy(abortReason(signal) as Error);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  let temp: string | undefined;
  try {
    const location = objectLocation(layout.objectsRoot, parseKey(key));
    throwIfAborted(signal);
    temp = join(layout.tempRoot, `${randomUUID()}.part`);
    const record = await writeTemp(layout, temp, input);
    throwIfAborted(signal);
    const replaced = await layout.locks.run(key, () => publish(layout, temp as string, location, input));
    return { key, size: record.size, etag: record.etag, replaced };
  } catch (error) {
    if (temp) await rm(temp, { force: true }).catch(() => {});
    // Body errors come through as they are: the caller needs to see why its body failed.
    throw signal?.aborted ? abortReason(signal) : error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

const abortReason = (signal: AbortSignal | undefined): unknown =>
  signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Streams the body into `temp`, appends the trailer and fsyncs. Non-catalogue errors thrown are the body's. */
async function writeTemp(layout: Layout, temp: string, input: PutInput): Promise<StoredRecord> {
  const io = <T>(operation: string, step: () => Promise<T>) =>
    step().catch((error: unknown) => {
      throw storageError(error, operation);
    });
  const handle = await io('create a temporary file', async () => {
    await makeDirectories(layout.tempRoot, layout.modes.directory);
    const created = await open(temp, 'wx', layout.modes.file);
    // Exactly the mode, whatever the umask; the published object is this file (linked or renamed).
    await created.chmod(layout.modes.file).catch(async (error: unknown) => {
      await created.close();
      throw error;
    });
    return created;
  });
  let closed = false;
  try {
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    // destroyOnReturn: false, so giving up on the body (a length mismatch, a disk error) leaves it to the caller.
    for await (const chunk of input.body.iterator({ destroyOnReturn: false })) {
      const bytes: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (input.contentLength !== undefined && size > input.contentLength)
        throw lengthMismatch(input.contentLength);
      md5.update(bytes);
      sha256.update(bytes);
      await io('write', () => writeFully(handle, bytes));
    }
    if (input.contentLength !== undefined && size !== input.contentLength)
      throw lengthMismatch(input.contentLength);
    const record = makeRecord(input, size, md5.digest('hex'), sha256.digest('hex'));
    await io('write', async () => {
      await writeFully(handle, encodeTrailer(record));
      await handle.sync();
      closed = true;
      await handle.close();
    });
    return record;
  } finally {
    if (!closed) await handle.close().catch(() => {});
  }
}

function makeRecord(input: PutInput, size: number, md5: string, sha256: string): StoredRecord {
  const declared = input.metadata.sha256?.toLowerCase();
  if (declared !== undefined && declared !== sha256)
    throw new AppError('BAD_REQUEST', 'The body does not match its declared SHA-256', {
      details: { declared, actual: sha256 },
    });
  // Whole seconds, as S3 and HTTP dates have them, so Last-Modified round-trips through If-Modified-Since.
  const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000);
  return { ...input.metadata, size, etag: `"${md5}"`, sha256, lastModified };
}

const lengthMismatch = (expected: number) =>
  new AppError('BAD_REQUEST', 'The body length does not match its declared Content-Length', {
    details: { expected },
  });

/** Writes all of `bytes`: at the file position, or from `position` on (a resumable upload's offset). */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position?: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const at = position === undefined ? null : position + offset;
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, at);
    offset += bytesWritten;
  }
}

/**
 * Makes the temp file the object at `location` (under the key's lock); true when it replaced one. Also
 * how a resumable upload reserves its key (resumable.ts): a create-only publish of a reservation file.
 */
export async function publish(
  layout: Layout,
  temp: string,
  location: ReturnType<typeof objectLocation>,
  input: Pick<PutInput, 'key' | 'overwrite' | 'ifMatch'>,
): Promise<boolean> {
  if (input.ifMatch !== undefined) await requireEtag(layout, input.key, input.ifMatch);
  for (let attempt = 1; ; attempt++) {
    try {
      await makeDirectories(layout.objectsRoot, layout.modes.directory);
      await walkDirectories(layout.objectsRoot, location.directories, true, layout.modes.directory);
      let replaced = true;
      // ifMatch: the object is there (just checked), so straight to the rename.
      if (input.ifMatch !== undefined) await rename(temp, location.file);
      else replaced = await linkOrReplace(temp, location.file, input.overwrite);
      await syncDirectory(location.directory);
      return replaced;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST' && !input.overwrite)
        throw new AppError('OBJECT_EXISTS', 'An object with this key already exists');
      // ENOENT: a concurrent delete pruned a directory between our mkdir and the publish.
      if (code === 'ENOENT' && attempt < PUBLISH_ATTEMPTS) continue;
      throw storageError(error, 'publish the object');
    }
  }
}

/** `link` (the kernel refuses a taken name with EEXIST); a taken name is replaced with `rename` if allowed. */
async function linkOrReplace(temp: string, file: string, overwrite: boolean): Promise<boolean> {
  try {
    await link(temp, file);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST' || !overwrite) throw error;
    await rename(temp, file);
    return true;
  }
  await rm(temp, { force: true }).catch(() => {});
  return false;
}

/** PRECONDITION_FAILED unless the stored object has exactly this ETag. */
async function requireEtag(layout: Layout, key: string, etag: string): Promise<void> {
  const current = await headObject(layout, key).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'OBJECT_NOT_FOUND') return undefined;
    throw error;
  });
  if (current?.etag !== etag)
    throw new AppError(
      'PRECONDITION_FAILED',
      'The stored object changed: it does not match If-Match any more',
    );
}

/** Makes the new directory entry durable; best effort, since the object is already visible. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}

/**
 * Removes temp files left by a crash. Only old ones: another process sharing the directory may be
 * writing the young ones right now.
 */
export async function sweepStaleTemps(tempRoot: string, now = Date.now()): Promise<void> {
  const names = await readdir(tempRoot).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(tempRoot, name);
    const stats = await lstat(path).catch(() => undefined);
    if (stats?.isFile() && now - stats.mtimeMs > STALE_TEMP_MS)
      await rm(path, { force: true }).catch(() => {});
  }
}
