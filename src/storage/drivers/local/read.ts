import { constants, type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { AppError } from '../../../errors.ts';
import type { GetInput, GetResult, ObjectInfo } from '../../driver.ts';
import { errorCode, storageError } from './io-errors.ts';
import { CorruptObjectError, readEntry, toObjectInfo } from './metadata.ts';
import { objectLocation, parseKey, symlinkRefused, walkDirectories } from './paths.ts';

/**
 * Reads go through one open file handle: metadata and body come from the same inode, so a concurrent
 * overwrite or delete (which only swaps or removes the directory entry) cannot mix two versions.
 * A reservation (metadata.ts) reads as absent.
 */

export interface ReadLayout {
  storage: string;
  objectsRoot: string;
}

/** The answer for a key that holds nothing; also the link routes' answer for a key they do not serve. */
export const notFound = (): AppError => new AppError('OBJECT_NOT_FOUND', 'Object not found');

/** Opens an object without following symbolic links; the caller owns (and must close) the handle. */
export async function openObject(
  layout: ReadLayout,
  key: string,
): Promise<{ handle: FileHandle; info: ObjectInfo }> {
  const location = objectLocation(layout.objectsRoot, parseKey(key));
  let handle: FileHandle;
  try {
    if (!(await walkDirectories(layout.objectsRoot, location.directories, false))) throw notFound();
    handle = await open(location.file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
    if (code === 'ELOOP') throw symlinkRefused();
    throw storageError(error, 'open the object');
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notFound();
    const entry = await readEntry(handle, stats.size);
    // A key a resumable upload holds is no object yet, as on S3.
    if ('reservation' in entry) throw notFound();
    return { handle, info: toObjectInfo(key, entry.record) };
  } catch (error) {
    await handle.close().catch(() => {});
    if (error instanceof CorruptObjectError)
      throw new AppError('STORAGE_ERROR', 'The storage backend rejected the request', {
        cause: error,
        backend: { operation: 'read a damaged object' },
      });
    throw storageError(error, 'read the object');
  }
}

export async function headObject(layout: ReadLayout, key: string): Promise<ObjectInfo> {
  const { handle, info } = await openObject(layout, key);
  await handle.close().catch(() => {});
  return info;
}

export async function getObject(layout: ReadLayout, input: GetInput): Promise<GetResult> {
  input.signal?.throwIfAborted();
  const { handle, info } = await openObject(layout, input.key);
  try {
    if (input.ifNoneMatch !== undefined && etagMatches(input.ifNoneMatch, info.etag)) {
      await handle.close().catch(() => {});
      // Only the ETag, as the S3 driver can give no more on a 304.
      return { notModified: true, info: { etag: info.etag } };
    }
    const range = input.range && satisfiableRange(input.range, info.size);
    if (info.size === 0) {
      await handle.close().catch(() => {});
      return { notModified: false, info, body: Readable.from([]) };
    }
    // The stream owns the handle from here on and closes it at end, error or destroy.
    const body = handle.createReadStream({
      start: range?.start ?? 0,
      end: range?.end ?? info.size - 1,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    return range ? { notModified: false, info, body, range } : { notModified: false, info, body };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches any. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const strip = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || strip(tag) === strip(etag));
}

/** Clamps `end` to the object, as HTTP does; a start past the end is 416 with `Content-Range: bytes *\/size`. */
function satisfiableRange(range: { start: number; end: number }, size: number) {
  if (!Number.isSafeInteger(range.start) || range.start < 0 || range.start >= size || range.end < range.start)
    throw new AppError('RANGE_NOT_SATISFIABLE', 'The requested range is not satisfiable', {
      details: { start: range.start, end: range.end, size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  return { start: range.start, end: Math.min(range.end, size - 1), total: size };
}
