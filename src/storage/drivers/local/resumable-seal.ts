import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import type { ObjectMetadata } from '../../driver.ts';
import type { ResumableUpload, UploadProgress } from '../../resumable/store.ts';
import { errorCode } from './io-errors.ts';
import { encodeTrailer, toObjectInfo, trailerLength } from './metadata.ts';
import { objectLocation, parseKey } from './paths.ts';
import {
  atKey,
  type ResumableLayout,
  removeUploadDirectory,
  replaceFile,
  type UploadFiles,
} from './resumable-files.ts';
import { syncDirectory, writeFully } from './write.ts';

/**
 * Completion of a local resumable upload, in steps any request can redo after a crash:
 * 1. seal: the request that brings the last bytes holds them back (resumable.ts) and writes them,
 *    followed by the finished object's metadata trailer (MD5 ETag, SHA-256, the metadata a form
 *    upload gets, the upload's write id), to `seal`, whole or not at all. From here on the upload is
 *    complete, and the next request that finds `seal` finishes the job (HEAD included: tus clients
 *    stop at an offset equal to the length). Until then `data` is short of the length, so an upload
 *    cut off before its seal is resumed, never stuck with every byte and no metadata.
 * 2. the seal's bytes are written at their place in `data` (always the same bytes at the same place);
 * 3. under the key's lock, if the key still holds this upload's reservation, `data` is renamed over
 *    it: the object appears whole, with the metadata a form upload gets. A key that no longer holds
 *    the reservation (deleted meanwhile) means the upload is gone; one holding an object with our
 *    write id means another request got there first.
 * 4. the upload's directory goes.
 */
export async function seal(
  layout: ResumableLayout,
  upload: ResumableUpload,
  files: UploadFiles,
  last: Buffer,
  metadata: ObjectMetadata,
): Promise<Buffer> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const written = upload.length - last.length;
  if (written > 0) {
    for await (const chunk of createReadStream(files.data, { start: 0, end: written - 1 })) {
      md5.update(chunk as Buffer);
      sha256.update(chunk as Buffer);
    }
  }
  md5.update(last);
  sha256.update(last);
  const trailer = encodeTrailer({
    ...metadata,
    size: upload.length,
    etag: `"${md5.digest('hex')}"`,
    sha256: sha256.digest('hex'),
    // Whole seconds, as every local object has them (write.ts).
    lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
    writeId: upload.writeId,
  });
  const sealed = Buffer.concat([last, trailer]);
  await replaceFile(layout, files.seal, sealed, files.directory);
  return sealed;
}

/** Steps 2–4 for a sealed upload; answers what the upload has become. */
export async function publishSealed(
  layout: ResumableLayout,
  upload: ResumableUpload,
  files: UploadFiles,
  sealed: Buffer,
): Promise<UploadProgress> {
  const handle = await open(files.data, 'r+').catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined; // published by another request
    throw error;
  });
  if (handle) {
    const trailerBytes = trailerLength(sealed);
    const at = upload.length - (sealed.length - trailerBytes);
    try {
      if ((await handle.stat()).size < at) throw new Error('resumable data shorter than its seal says');
      await writeFully(handle, sealed, at);
      await handle.truncate(upload.length + trailerBytes);
      await handle.sync();
    } finally {
      await handle.close().catch(() => {});
    }
    const location = objectLocation(layout.objectsRoot, parseKey(upload.key));
    await layout.locks.run(upload.key, async () => {
      const found = await atKey(layout, upload.key);
      if (found.kind !== 'reservation' || found.reservation.writeId !== upload.writeId) return;
      await rename(files.data, location.file).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') throw error;
      });
      await syncDirectory(location.directory);
    });
  }
  const progress = await settled(layout, upload);
  await removeUploadDirectory(files).catch(() => {}); // sweep takes what is left
  return progress;
}

/** An upload whose data is no longer staged: finished if the key holds our object, else gone. */
export async function settled(layout: ResumableLayout, upload: ResumableUpload): Promise<UploadProgress> {
  const found = await atKey(layout, upload.key);
  if (found.kind === 'object' && found.record.writeId === upload.writeId)
    return { status: 'finished', info: toObjectInfo(upload.key, found.record) };
  return { status: 'gone' };
}
