import { constants, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../errors.ts';
import type { ListInput, ListResult } from '../../driver.ts';
import { errorCode, storageError } from './io-errors.ts';
import { readEntry } from './metadata.ts';
import { decodeName, parseKey, segmentName, walkDirectories } from './paths.ts';
import type { ReadLayout } from './read.ts';

/**
 * Listing in S3 ListObjectsV2 order: keys sorted by their UTF-8 bytes, `prefix` a plain string prefix,
 * at most 1000 per page. The tree is walked depth-first with each directory's entries sorted so that
 * the walk visits keys in that global order: a directory `d` sorts as `d/`, since every key inside it
 * starts with `d/`. The cursor is the last key returned (base64url); subtrees wholly before it and
 * outside the prefix are skipped, never read. Symbolic links, foreign files and reservations (metadata.ts) are not listed.
 */

const MAX_PAGE = 1000;

type Entry = { key: string; path: string };

export async function listObjects(layout: ReadLayout, input: ListInput): Promise<ListResult> {
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor, input.prefix);
  const limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(input.limit)));
  const start = await startDirectory(layout, input.prefix);
  if (!start) return { objects: [] };
  const objects: ListResult['objects'] = [];
  try {
    for await (const entry of walk(start.path, start.keyPrefix, input.prefix, after)) {
      if (objects.length === limit) return { objects, nextCursor: encodeCursor(objects.at(-1)?.key ?? '') };
      const info = await statEntry(entry);
      if (info) objects.push(info);
    }
  } catch (error) {
    throw storageError(error, 'list objects');
  }
  return { objects };
}

/** The deepest directory named by the prefix's complete segments (`a/b/c` starts the walk in `a/b/`). */
async function startDirectory(layout: ReadLayout, prefix: string) {
  const complete = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  if (complete === '') return { path: layout.objectsRoot, keyPrefix: '' };
  let segments: string[];
  try {
    // Validated as a key, so only names a key could produce are ever touched.
    segments = parseKey(complete.slice(0, -1));
  } catch {
    return undefined; // no key can start with an invalid prefix
  }
  const names = segments.map((segment) => segmentName(segment, false));
  const exists = await walkDirectories(layout.objectsRoot, names, false).catch(() => false);
  return exists ? { path: join(layout.objectsRoot, ...names), keyPrefix: complete } : undefined;
}

async function* walk(
  directory: string,
  keyPrefix: string,
  prefix: string,
  after: string | undefined,
): AsyncGenerator<Entry> {
  let dirents: Awaited<ReturnType<typeof readdirTyped>>;
  try {
    dirents = await readdirTyped(directory);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return; // removed by a concurrent delete
    throw error;
  }
  const children: Array<{ sortKey: Buffer; key: string; path: string; isFile: boolean }> = [];
  for (const dirent of dirents) {
    const isFile = dirent.isFile();
    if (!isFile && !dirent.isDirectory()) continue; // symbolic links and devices are never followed
    const segment = decodeName(dirent.name, isFile);
    if (segment === undefined) continue;
    const key = isFile ? keyPrefix + segment : `${keyPrefix}${segment}/`;
    children.push({ sortKey: Buffer.from(key), key, path: join(directory, dirent.name), isFile });
  }
  children.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const child of children) {
    if (child.isFile) {
      if (child.key.startsWith(prefix) && (after === undefined || compareKeys(child.key, after) > 0))
        yield { key: child.key, path: child.path };
      continue;
    }
    if (!child.key.startsWith(prefix) && !prefix.startsWith(child.key)) continue;
    // Every key in this subtree starts with child.key; all precede the cursor unless it is inside.
    if (after !== undefined && !after.startsWith(child.key) && compareKeys(child.key, after) < 0) continue;
    yield* walk(child.path, child.key, prefix, after);
  }
}

const readdirTyped = (directory: string) => readdir(directory, { withFileTypes: true });

const compareKeys = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function statEntry({ key, path }: Entry) {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined; // deleted since the directory was read
    throw error;
  });
  if (!handle) return undefined;
  try {
    const entry = await readEntry(handle, (await handle.stat()).size);
    if ('reservation' in entry) return undefined; // a resumable upload's key: no object yet
    const { record } = entry;
    return { key, size: record.size, etag: record.etag, lastModified: record.lastModified };
  } finally {
    await handle.close().catch(() => {});
  }
}

const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

/** A cursor is the last key of a page of this listing: it must lie under the listed prefix. */
function decodeCursor(cursor: string, prefix: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (cursor === '' || encodeCursor(key) !== cursor || !key.startsWith(prefix))
    throw new AppError('BAD_REQUEST', 'Invalid list cursor', { details: { cursor } });
  return key;
}
