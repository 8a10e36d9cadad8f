import { randomUUID } from 'node:crypto';
import { type FileHandle, link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AppError } from '../../../errors.ts';
import { errorCode, storageError } from './io-errors.ts';
import type { FileModes } from './modes.ts';
import { writeFully } from './write.ts';

/**
 * The lease on one local resumable upload: its `lease` file, created with O_EXCL, so a second
 * concurrent PATCH (from this process or another one on the same directory) is refused at once with
 * 423. Only a fast refusal: correctness never depends on it (bytes are written at their offsets,
 * a stale offset is refused, completion is create-only).
 *
 * The holder keeps the file's mtime fresh while it writes; a lease whose mtime is older than
 * LEASE_MS, or whose holder was a process of this host that is gone (SIGKILL mid-PATCH), is stale
 * and taken over. Taking over and releasing never look-then-delete, which could remove the next
 * holder's lease: the file is renamed aside, and put back if it turns out not to be the one meant.
 */
export const LEASE_MS = 30_000;
const RENEW_MS = LEASE_MS / 3;

export interface Lease {
  release(): Promise<void>;
}

interface Holder {
  holder: string;
  pid: number;
  host: string;
}

export async function takeLease(path: string, modes: FileModes): Promise<Lease> {
  const mine: Holder = { holder: randomUUID(), pid: process.pid, host: hostname() };
  const content = JSON.stringify(mine);
  let handle = await create(path, content, modes);
  if (handle === 'taken') {
    const current = await readOptional(path);
    if (current !== undefined) {
      if (!(await isStale(path, current))) throw locked();
      await removeIfUnchanged(path, current);
    }
    handle = await create(path, content, modes);
    if (handle === 'taken') throw locked();
  }
  // No state directory: the upload is finished, terminated or never was; progress() tells which.
  if (handle === 'no upload') return { release: async () => {} };
  const held = handle;
  const renew = setInterval(() => {
    const now = new Date();
    held.utimes(now, now).catch(() => {});
  }, RENEW_MS);
  renew.unref();
  return {
    async release() {
      clearInterval(renew);
      await held.close().catch(() => {});
      // Best effort: a lease left behind goes stale on its own.
      await removeIfUnchanged(path, content).catch(() => {});
    },
  };
}

async function create(path: string, content: string, modes: FileModes) {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', modes.file);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return 'taken' as const;
    if (errorCode(error) === 'ENOENT') return 'no upload' as const;
    throw storageError(error, 'take the upload lease');
  }
  try {
    await handle.chmod(modes.file);
    await writeFully(handle, Buffer.from(content));
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw storageError(error, 'take the upload lease');
  }
  return handle;
}

async function isStale(path: string, content: string): Promise<boolean> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats) return true;
  if (Date.now() - stats.mtimeMs > LEASE_MS) return true;
  const holder = parseHolder(content);
  return holder !== undefined && holder.host === hostname() && !isAlive(holder.pid);
}

function parseHolder(content: string): Holder | undefined {
  try {
    const parsed = JSON.parse(content) as Partial<Holder>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.host === 'string' &&
      typeof parsed.holder === 'string'
    )
      return parsed as Holder;
  } catch {
    // Cut short while it was written: only its age tells.
  }
  return undefined;
}

/** Whether a process of this host still runs (signal 0 only asks). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Removes the lease file only if it still has `content`: renamed aside, checked, put back if not. */
async function removeIfUnchanged(path: string, content: string): Promise<void> {
  const aside = `${path}.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readOptional(aside);
  // Someone else's lease: put it back, unless a third request took the name meanwhile.
  if (moved !== content) await link(aside, path).catch(() => {});
  await rm(aside, { force: true });
}

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  });
}

const locked = () =>
  new AppError('UPLOAD_LOCKED', 'another request is writing to this upload', {
    headers: { 'retry-after': '1' },
  });
