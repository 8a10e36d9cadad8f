import { chmod, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../errors.ts';
import { DEFAULT_MODES } from './modes.ts';

/**
 * Keys → paths under the storage's object tree, and the containment rules that keep every key inside it.
 *
 * A key `a/b/c` lives at `objects/a/b/c%`: each segment but the last is a directory, the last is a file
 * whose name ends with a lone `%`. Inside names, `%` is written `%25`, so an escaped name never ends
 * with a lone `%`: object files and directories can never share a name, and `a` and `a/b` can both
 * exist, as in S3. Nothing is ever decoded from a key: `%2e%2e` is the plain name `%252e%252e`.
 */

const MAX_KEY_BYTES = 1024;
/** NAME_MAX on Linux, macOS and the common filesystems. */
const MAX_NAME_BYTES = 255;
const LEAF_MARK = '%';

const forbiddenCharacter = /[\p{Cc}\\]/u;

// Details never echo the key: it is the backend key, and the profile prefix is hidden from clients.
const invalidKey = (reason: string) =>
  new AppError('INVALID_KEY', `Invalid key: ${reason}`, { details: { reason } });

const escapeName = (segment: string) => segment.replaceAll('%', '%25');

/** The on-disk name of a key segment: a directory name, or (`leaf`) the object file's name. */
export const segmentName = (segment: string, leaf: boolean): string =>
  leaf ? `${escapeName(segment)}${LEAF_MARK}` : escapeName(segment);

/**
 * The key segment an on-disk name stands for, or undefined for names this driver never writes
 * (foreign files are ignored, never reinterpreted).
 */
export function decodeName(name: string, isFile: boolean): string | undefined {
  const escaped = isFile ? (name.endsWith(LEAF_MARK) ? name.slice(0, -1) : undefined) : name;
  if (escaped === undefined || escaped === '') return undefined;
  const segment = escaped.replaceAll('%25', '%');
  return escapeName(segment) === escaped && validSegment(segment) ? segment : undefined;
}

const validSegment = (segment: string) => segment !== '' && segment !== '.' && segment !== '..';

/**
 * Splits a key into segments after checking every rule, or throws INVALID_KEY. The key arrives decoded
 * from the URL already and is taken literally.
 */
export function parseKey(key: string): string[] {
  if (typeof key !== 'string' || key === '') throw invalidKey('empty');
  // A lone surrogate would be written as U+FFFD, so two different keys would share one file.
  if (!key.isWellFormed()) throw invalidKey('not well-formed Unicode');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw invalidKey(`longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  if (forbiddenCharacter.test(key)) throw invalidKey('contains a control character or a backslash');
  if (key.startsWith('/')) throw invalidKey('absolute path');
  const segments = key.split('/');
  segments.forEach((segment, index) => {
    if (segment === '') throw invalidKey('empty path segment');
    if (!validSegment(segment)) throw invalidKey('"." or ".." segment');
    if (Buffer.byteLength(segmentName(segment, index === segments.length - 1)) > MAX_NAME_BYTES)
      throw invalidKey(`a path segment is longer than this filesystem allows (${MAX_NAME_BYTES} bytes)`);
  });
  return segments;
}

/**
 * A storage directory's trees: `objects/` holds the keys (objectLocation), `.tmp/` the uploads in
 * flight (write.ts), `.resumable/` the state of resumable uploads (resumable.ts), never listed or
 * served. Exported so that tools and tests look where the driver writes.
 */
export const storageLayout = (directory: string) => ({
  objectsRoot: join(directory, 'objects'),
  tempRoot: join(directory, '.tmp'),
  resumableRoot: join(directory, '.resumable'),
});

/** Where an object's file lives, for segments returned by parseKey. */
export function objectLocation(objectsRoot: string, segments: readonly string[]) {
  const directories = segments.slice(0, -1).map((segment) => segmentName(segment, false));
  const leaf = segmentName(segments.at(-1) ?? '', true);
  const directory = join(objectsRoot, ...directories);
  return { directories, directory, file: join(directory, leaf) };
}

/** For a key that reaches a symbolic link (a directory on the way, or the object file itself). */
export const symlinkRefused = () =>
  new AppError('INVALID_KEY', 'Invalid key: it passes through a symbolic link in the storage directory', {
    details: { reason: 'symbolic link' },
  });

/**
 * Walks the key's directories from the object root with lstat, so a symbolic link planted in the tree
 * (pointing outside it or not) is never followed: resolves true when every directory exists and is a
 * real directory, false when one is missing or is not a directory, and throws INVALID_KEY at a symlink.
 * With `create`, missing directories are made one at a time (never `mkdir -p`, which follows links),
 * with `mode`.
 */
export async function walkDirectories(
  objectsRoot: string,
  directories: readonly string[],
  create: boolean,
  mode = DEFAULT_MODES.directory,
): Promise<boolean> {
  let current = objectsRoot;
  for (const name of directories) {
    current = join(current, name);
    let stats = await lstatOrUndefined(current);
    if (!stats && create) {
      const made = await mkdir(current, { mode }).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
          return false;
        },
      );
      // Exactly the mode, whatever the umask; only on a directory this call made (not a symlink).
      if (made) await chmod(current, mode);
      stats = await lstatOrUndefined(current);
    }
    if (stats?.isSymbolicLink()) throw symlinkRefused();
    if (stats?.isDirectory()) continue;
    if (!create) return false;
    // ENOENT: a concurrent delete pruned it right after mkdir; the writer retries.
    throw Object.assign(new Error(`${current} is not a directory`), { code: stats ? 'ENOTDIR' : 'ENOENT' });
  }
  return true;
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
