import { lstat, readdir } from 'node:fs/promises';
import type { ResumableUpload } from '../../resumable/store.ts';
import { deleteObject } from './delete.ts';
import {
  atKey,
  type ResumableLayout,
  readInfo,
  removeUploadDirectory,
  type UploadFiles,
  uploadFiles,
} from './resumable-files.ts';
import { STALE_TEMP_MS } from './write.ts';

/**
 * Removing local resumable uploads: termination and the sweep of expired ones (which the route
 * answers 410 from their expiry on, whether or not they were swept yet). The driver sweeps when it
 * starts and every hour; `LocalResumableStore.sweep` is there for a `gc` command.
 */

/** Termination: the reservation (if still ours), then the directory; later requests find it gone. */
export async function terminate(layout: ResumableLayout, upload: ResumableUpload): Promise<void> {
  await releaseReservation(layout, upload.key, upload.writeId);
  await removeUploadDirectory(uploadFiles(layout, upload.writeId));
}

/** Deletes the key only while it holds this upload's reservation (never an object). */
async function releaseReservation(layout: ResumableLayout, key: string, writeId: string): Promise<void> {
  await layout.locks.run(key, async () => {
    const found = await atKey(layout, key);
    if (found.kind === 'reservation' && found.reservation.writeId === writeId)
      await deleteObject(layout, key);
  });
}

/**
 * Removes every upload expired by `now`: its reservation (a finished object stays) and its directory.
 * A directory without a readable upload.json was cut short while it was created; it goes once older
 * than the temp files of crashed writes.
 */
export async function sweep(layout: ResumableLayout, now: number): Promise<number> {
  const names = await readdir(layout.resumableRoot).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    let files: UploadFiles;
    try {
      files = uploadFiles(layout, name);
    } catch {
      continue; // not a directory this driver made
    }
    const info = await readInfo(files);
    if (info === undefined || info.writeId !== name) {
      const stats = await lstat(files.directory).catch(() => undefined);
      if (!stats?.isDirectory() || now - stats.mtimeMs <= STALE_TEMP_MS) continue;
    } else {
      if (info.expiresAt > now) continue;
      await releaseReservation(layout, info.key, info.writeId);
    }
    await removeUploadDirectory(files);
    removed += 1;
  }
  return removed;
}
