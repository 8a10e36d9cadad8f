import { rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, storageError } from './io-errors.ts';
import { objectLocation, parseKey, walkDirectories } from './paths.ts';
import type { ReadLayout } from './read.ts';

/**
 * Idempotent delete: a missing key succeeds, as in S3. Directories left empty are removed up to the
 * object root (S3 has no directories, so none may linger); a writer that loses such a directory to
 * this race recreates it (see publish in write.ts).
 */
export async function deleteObject(layout: ReadLayout, key: string): Promise<void> {
  const location = objectLocation(layout.objectsRoot, parseKey(key));
  try {
    if (!(await walkDirectories(layout.objectsRoot, location.directories, false))) return;
    // unlink never follows a symbolic link: at worst it removes the link itself.
    await unlink(location.file).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
  } catch (error) {
    throw storageError(error, 'delete the object');
  }
  for (let depth = location.directories.length; depth > 0; depth--) {
    const removed = await rmdir(join(layout.objectsRoot, ...location.directories.slice(0, depth))).then(
      () => true,
      () => false, // ENOTEMPTY (or already gone): the rest of the path is in use
    );
    if (!removed) return;
  }
}
