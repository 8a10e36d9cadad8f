import { randomUUID } from 'node:crypto';
import { chmod, constants, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from './io-errors.ts';
import { type Reservation, readEntry, type StoredRecord } from './metadata.ts';
import { makeDirectories } from './modes.ts';
import { objectLocation, parseKey, walkDirectories } from './paths.ts';
import { type Layout, syncDirectory, writeFully } from './write.ts';

/**
 * Where a resumable upload's state lives on disk (resumable.ts explains the protocol): one directory
 * per upload under `.resumable/`, named by its write id, which no listing or read ever looks at.
 *
 *   upload.json   key, write id, length and expiry, for `sweep` (the request's token says the same)
 *   data          the bytes received so far; its size is the offset
 *   seal          the upload's last bytes and the finished object's metadata trailer, once the
 *                 last bytes arrived (resumable-seal.ts)
 *   lease         held by the PATCH writing to it (resumable-lease.ts)
 */
export interface ResumableLayout extends Layout {
  resumableRoot: string;
}

export interface UploadFiles {
  directory: string;
  info: string;
  data: string;
  seal: string;
  lease: string;
}

/** Write ids are base64url from upload-id.ts; anything else never names a directory. */
const WRITE_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function uploadFiles(layout: ResumableLayout, writeId: string): UploadFiles {
  if (!WRITE_ID.test(writeId)) throw new Error('a resumable write id that is not base64url');
  const directory = join(layout.resumableRoot, writeId);
  return {
    directory,
    info: join(directory, 'upload.json'),
    data: join(directory, 'data'),
    seal: join(directory, 'seal'),
    lease: join(directory, 'lease'),
  };
}

/** What upload.json holds. */
export interface UploadInfo {
  key: string;
  writeId: string;
  length: number;
  expiresAt: number;
}

/** Makes the upload's directory; it must not exist yet (write ids are random). */
export async function makeUploadDirectory(layout: ResumableLayout, files: UploadFiles): Promise<void> {
  await makeDirectories(layout.resumableRoot, layout.modes.directory);
  await mkdir(files.directory, { mode: layout.modes.directory });
  await chmod(files.directory, layout.modes.directory);
}

/** Creates `path` (it must not exist) with exactly these bytes, fsynced, in the layout's file mode. */
export async function createFile(layout: Layout, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', layout.modes.file);
  try {
    await handle.chmod(layout.modes.file);
    await writeFully(handle, bytes);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw error;
  }
  await handle.close();
}

/** Writes `path` whole or not at all: a temp file beside it, fsynced, renamed over it. */
export async function replaceFile(layout: Layout, path: string, bytes: Uint8Array, directory: string) {
  const temp = `${path}.${randomUUID()}`;
  await createFile(layout, temp, bytes);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
  await syncDirectory(directory);
}

/** The file's bytes, or undefined when it is not there. */
export async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

export async function readInfo(files: UploadFiles): Promise<UploadInfo | undefined> {
  const bytes = await readOptional(files.info);
  if (bytes === undefined) return undefined;
  try {
    const info = JSON.parse(bytes.toString('utf8')) as Partial<UploadInfo>;
    const { key, writeId, length, expiresAt } = info;
    if (typeof key !== 'string' || typeof writeId !== 'string') return undefined;
    if (!Number.isSafeInteger(length) || !Number.isSafeInteger(expiresAt)) return undefined;
    return { key, writeId, length: length as number, expiresAt: expiresAt as number };
  } catch {
    return undefined; // cut short by a crash while it was created: only its age tells (sweep)
  }
}

/** What the object tree holds at a key: nothing, a reservation, or an object. */
export type AtKey =
  | { kind: 'absent' }
  | { kind: 'reservation'; reservation: Reservation }
  | { kind: 'object'; record: StoredRecord };

/** Looks at the key without following symbolic links; a file this driver did not write is `absent`. */
export async function atKey(layout: ResumableLayout, key: string): Promise<AtKey> {
  const location = objectLocation(layout.objectsRoot, parseKey(key));
  if (!(await walkDirectories(layout.objectsRoot, location.directories, false))) return { kind: 'absent' };
  const handle = await open(location.file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
    (error: unknown) => {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
      throw error;
    },
  );
  if (!handle) return { kind: 'absent' };
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { kind: 'absent' };
    const entry = await readEntry(handle, stats.size).catch(() => undefined);
    if (entry === undefined) return { kind: 'absent' };
    return 'reservation' in entry
      ? { kind: 'reservation', reservation: entry.reservation }
      : { kind: 'object', record: entry.record };
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Removes the upload's directory and everything in it; a missing one is fine. */
export const removeUploadDirectory = (files: UploadFiles): Promise<void> =>
  rm(files.directory, { recursive: true, force: true });
