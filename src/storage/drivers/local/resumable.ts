import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectMetadata } from '../../driver.ts';
import { SNIFF_BYTES } from '../../intake.ts';
import { offsetMismatch, pastLength, uploadFinished, uploadNotFound } from '../../resumable/errors.ts';
import type {
  AppendInput,
  AppendResult,
  ResumableStore,
  ResumableUpload,
  UploadProgress,
} from '../../resumable/store.ts';
import { openBody } from '../s3/body.ts';
import { errorCode, storageError } from './io-errors.ts';
import { encodeReservation } from './metadata.ts';
import { makeDirectories } from './modes.ts';
import { objectLocation, parseKey } from './paths.ts';
import {
  atKey,
  createFile,
  makeUploadDirectory,
  type ResumableLayout,
  readOptional,
  removeUploadDirectory,
  type UploadFiles,
  uploadFiles,
} from './resumable-files.ts';
import { takeLease } from './resumable-lease.ts';
import { publishSealed, seal, settled } from './resumable-seal.ts';
import { sweep, terminate } from './resumable-sweep.ts';
import { publish, syncDirectory, writeFully } from './write.ts';

/**
 * Resumable (tus) uploads on the local driver: the same port and semantics as the S3 store
 * (src/storage/resumable/upload-id.ts has the protocol), with the storage directory as the only
 * state, so two processes on one directory continue each other's uploads. Each call is one request's
 * work; nothing is kept in memory between calls.
 *
 * - **begin** makes the upload's directory under `.resumable/` (resumable-files.ts: its `data` file
 *   starts empty) and then reserves the final key create-only: a reservation file (metadata.ts),
 *   linked into place like any create-only write, read as absent by every read and listing. It is the
 *   upload's "alive" mark: no reservation with our write id and no object with it ⇒ gone (404).
 * - **the offset is the size of `data`**, read on every request; each PATCH writes its bytes at
 *   their offsets (never O_APPEND) and fsyncs them before it answers. A PATCH whose offset is not the
 *   one on disk is refused (409), re-checked on the open file after the lease; so the same bytes at
 *   the same offset twice are harmless, and a client that left mid-body keeps what arrived.
 * - a body that would go past Upload-Length is refused and what it wrote is cut off again.
 * - the first bytes are sniffed (`describe`) as soon as the file holds them, so a refused type stops
 *   the upload (the route terminates it: 415, nothing kept) before the rest is written.
 * - **completion** (resumable-seal.ts): hashes, the metadata trailer a form upload gets, then a
 *   rename over our own reservation: create-only, whole or not at all.
 * - **lease** (resumable-lease.ts): an O_EXCL file, for a fast 423; correctness never depends on it.
 * - **terminate** removes the reservation (if still ours) and the directory; **sweep** does the same
 *   for uploads past their expiry, which the route already answers 410.
 */
export interface LocalResumableStore extends ResumableStore {
  /** Removes the state of uploads expired by `now` (epoch ms); resolves with how many went. */
  sweep(now?: number): Promise<number>;
}

export function localResumableStore(layout: ResumableLayout): LocalResumableStore {
  const io =
    <A extends unknown[], T>(operation: string, step: (...args: A) => Promise<T>) =>
    (...args: A): Promise<T> =>
      step(...args).catch((error: unknown) => {
        throw storageError(error, operation);
      });
  return {
    // No parts: bytes go to disk as they arrive, through no part buffer.
    partSize: () => 0,
    begin: io('begin a resumable upload', (upload) => begin(layout, upload)),
    lease: io('take the upload lease', (upload) =>
      takeLease(uploadFiles(layout, upload.writeId).lease, layout.modes),
    ),
    progress: io('read a resumable upload', (upload) => progress(layout, upload)),
    // Not through `io`: a body's own failure (a client that left) must reach the route as it is.
    append: (input) => append(layout, input),
    terminate: io('terminate a resumable upload', (upload) => terminate(layout, upload)),
    sweep: io('sweep expired resumable uploads', (now = Date.now()) => sweep(layout, now)),
  };
}

async function begin(layout: ResumableLayout, upload: ResumableUpload): Promise<void> {
  const files = uploadFiles(layout, upload.writeId);
  const { key, writeId, length, expiresAt } = upload;
  await makeUploadDirectory(layout, files);
  try {
    await createFile(layout, files.info, Buffer.from(JSON.stringify({ key, writeId, length, expiresAt })));
    await createFile(layout, files.data, new Uint8Array());
    await syncDirectory(files.directory);
    await reserve(layout, upload);
  } catch (error) {
    await removeUploadDirectory(files).catch(() => {});
    throw error;
  }
}

/** The reservation, written in `.tmp/` and linked into place: OBJECT_EXISTS if the key is taken. */
async function reserve(layout: ResumableLayout, upload: ResumableUpload): Promise<void> {
  const temp = join(layout.tempRoot, `${randomUUID()}.part`);
  await makeDirectories(layout.tempRoot, layout.modes.directory);
  try {
    await createFile(
      layout,
      temp,
      encodeReservation({ writeId: upload.writeId, expiresAt: upload.expiresAt }),
    );
    const location = objectLocation(layout.objectsRoot, parseKey(upload.key));
    await layout.locks.run(upload.key, () =>
      publish(layout, temp, location, { key: upload.key, overwrite: false }),
    );
  } finally {
    await rm(temp, { force: true }).catch(() => {});
  }
}

async function progress(layout: ResumableLayout, upload: ResumableUpload): Promise<UploadProgress> {
  const files = uploadFiles(layout, upload.writeId);
  const found = await atKey(layout, upload.key);
  if (found.kind === 'object') {
    if (found.record.writeId !== upload.writeId) return { status: 'gone' };
    // Left by a request that died right after publishing; sweep would take it too.
    await removeUploadDirectory(files).catch(() => {});
    return settled(layout, upload);
  }
  if (found.kind === 'absent' || found.reservation.writeId !== upload.writeId) return { status: 'gone' };
  const sealed = await readOptional(files.seal);
  // Sealed by a request that did not get to publish it: every byte is in, so finish it now.
  if (sealed !== undefined) return publishSealed(layout, upload, files, sealed);
  const size = await sizeOf(files.data);
  // Published (or terminated) since the key was read.
  if (size === undefined) return settled(layout, upload);
  // Never the length itself: the last bytes go to the seal (receive), and a seal was not there.
  return { status: 'open', offset: Math.min(size, upload.length) };
}

async function append(layout: ResumableLayout, input: AppendInput): Promise<AppendResult> {
  const { upload } = input;
  const files = uploadFiles(layout, upload.writeId);
  const handle = await open(files.data, 'r+').catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw storageError(error, APPEND);
  });
  if (!handle) throw refusal(await settled(layout, upload).catch(onDisk));
  let received: Awaited<ReturnType<typeof receive>>;
  try {
    received = await receive(handle, input);
  } finally {
    await handle.close().catch(() => {});
  }
  if (received.last === undefined) return { offset: received.offset };
  const etag = await complete(layout, upload, files, received.last, received.metadata).catch(
    async (error: unknown) => {
      // Terminated (or its key deleted) while this body arrived: that is the answer, not a disk error.
      const now = await settled(layout, upload).catch(() => undefined);
      if (now?.status === 'gone') throw uploadNotFound();
      return onDisk(error);
    },
  );
  return { offset: upload.length, finished: { etag } };
}

const APPEND = 'append to a resumable upload';
const onDisk = (error: unknown): never => {
  throw storageError(error, APPEND);
};

/**
 * Writes the body at the state's offset and fsyncs it: the new offset. The chunk that brings the
 * last byte is held back (with the metadata decided from the first bytes) for the seal, so that `data`
 * never holds every byte of an unsealed upload: a request that dies before sealing leaves an offset
 * short of the length, and the client sends the end again, instead of an upload no one can finish.
 */
async function receive(
  handle: FileHandle,
  input: AppendInput,
): Promise<{ offset: number; last?: Buffer; metadata: ObjectMetadata | undefined }> {
  const { upload, state } = input;
  const start = (await handle.stat().catch(onDisk)).size;
  if (start !== state.offset) throw offsetMismatch(Math.min(start, upload.length));
  const sniffAt = Math.min(SNIFF_BYTES, upload.length);
  const reader = openBody(input.body, input.signal);
  let position = start;
  let last: Buffer | undefined;
  let metadata: ObjectMetadata | undefined;
  try {
    for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) {
      if (chunk.length === 0) continue;
      if (last !== undefined || position + chunk.length > upload.length) {
        await handle.truncate(start);
        throw pastLength(upload.length);
      }
      if (position + chunk.length === upload.length) {
        last = chunk; // kept until the body ends: any byte after it is past the length
        continue;
      }
      await writeFully(handle, chunk, position);
      position += chunk.length;
      if (metadata === undefined && start < sniffAt && position >= sniffAt)
        metadata = await input.describe(await readHead(handle, sniffAt));
    }
  } catch (error) {
    // What arrived stays, also from a body that broke off: the client resumes after it.
    await handle.sync().catch(() => {});
    // The body's own failure (a client that left, an abort) as it is; the disk's as a storage error.
    if (error === reader.error) throw error;
    throw storageError(error, APPEND);
  } finally {
    reader.release();
  }
  await handle.sync().catch(onDisk);
  if (last === undefined && position < upload.length) return { offset: position, metadata };
  last ??= Buffer.alloc(0); // an empty upload
  if (metadata === undefined) {
    const written = await readHead(handle, Math.min(sniffAt, position)).catch(onDisk);
    metadata = await input.describe(Buffer.concat([written, last]).subarray(0, sniffAt));
  }
  return { offset: position, last, metadata };
}

async function complete(
  layout: ResumableLayout,
  upload: ResumableUpload,
  files: UploadFiles,
  last: Buffer,
  metadata: ObjectMetadata | undefined,
): Promise<string> {
  if (metadata === undefined) throw new Error('a complete upload without its metadata');
  const sealed = (await readOptional(files.seal)) ?? (await seal(layout, upload, files, last, metadata));
  const outcome = await publishSealed(layout, upload, files, sealed);
  if (outcome.status !== 'finished') throw refusal(outcome);
  return outcome.info.etag;
}

const sizeOf = (path: string): Promise<number | undefined> =>
  stat(path).then(
    (stats) => stats.size,
    (error: unknown) => {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
      throw error;
    },
  );

async function readHead(handle: FileHandle, length: number): Promise<Buffer> {
  const head = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(head, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return head.subarray(0, filled);
}

/** The answer for an upload that moved on while this request waited for it. */
const refusal = (progress: UploadProgress) =>
  progress.status === 'finished'
    ? uploadFinished()
    : progress.status === 'gone'
      ? uploadNotFound()
      : offsetMismatch(progress.offset);
