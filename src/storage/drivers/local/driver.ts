import { randomUUID } from 'node:crypto';
import { link, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LocalProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import type { StorageDriver } from '../../driver.ts';
import { deleteObject } from './delete.ts';
import { errorCode } from './io-errors.ts';
import { createKeyLocks } from './key-locks.ts';
import { listObjects } from './list.ts';
import { DEFAULT_MODES, type FileModes, makeDirectories } from './modes.ts';
import { parseKey, storageLayout } from './paths.ts';
import { getObject, headObject } from './read.ts';
import { localResumableStore } from './resumable.ts';
import type { LinkSigner } from './signed-links.ts';
import { encodeKeyPath, publicObjectUrl, signedLinkUrl } from './urls.ts';
import { sweepStaleTemps, writeObject } from './write.ts';

/**
 * The local driver: objects as files under the storage's directory, for running Stowage with no cloud
 * account. On disk:
 *
 *   <directory>/objects/   the key tree (paths.ts); each object file = body + metadata trailer (metadata.ts)
 *   <directory>/.tmp/      uploads in flight (write.ts); stale ones are swept when the driver starts
 *   <directory>/.resumable/ resumable uploads' state (resumable.ts); expired ones are swept at start
 *                          and every SWEEP_INTERVAL_MS
 */

/** How often expired resumable uploads are removed while the driver runs (they answer 410 meanwhile). */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export interface LocalDriverOptions {
  /** The storage's name, used in links and error messages. */
  name: string;
  profile: LocalProfileConfig;
  /** This storage's directory (the profile's `directory`, or `${local.root}/${name}`); created if missing. */
  directory: string;
  links: LinkSigner;
  /** Where clients reach this service (`local.publicBaseUrl`), for signed links and public URLs. */
  baseUrl: string;
  /** Modes of the files and directories it creates (`local.fileMode`, `local.directoryMode`); 0600/0700 by default. */
  modes?: FileModes;
}

export function createLocalDriver(options: LocalDriverOptions): StorageDriver {
  const { name, profile, links } = options;
  const directory = resolve(options.directory);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const layout = {
    storage: name,
    ...storageLayout(directory),
    locks: createKeyLocks(),
    modes: options.modes ?? DEFAULT_MODES,
  };
  const resumable = localResumableStore(layout);
  const sweepExpired = () => resumable.sweep().catch(() => 0); // a failure here is the next request's to report
  const sweep = Promise.all([sweepStaleTemps(layout.tempRoot), sweepExpired()]);
  const sweeping = setInterval(sweepExpired, SWEEP_INTERVAL_MS);
  sweeping.unref();

  return {
    kind: 'local',
    // Bodies stream to a temporary file through the stream's own small buffers: no part buffer.
    partBufferSize: () => 0,
    put: (input) => writeObject(layout, input),
    get: (input) => getObject(layout, input),
    head: (key) => headObject(layout, key),
    // Under the key's lock, so no delete falls between a conditional write's check and its rename.
    delete: (key) => layout.locks.run(key, () => deleteObject(layout, key)),
    list: (input) => listObjects(layout, input),

    async presignGet({ key, expiresInSeconds, contentDisposition }) {
      parseKey(key);
      if (!(expiresInSeconds > 0))
        throw new AppError('BAD_REQUEST', 'Link expiry must be positive', { details: { expiresInSeconds } });
      const expiresAtEpochSeconds = Math.floor(Date.now() / 1000) + Math.ceil(expiresInSeconds);
      const url = signedLinkUrl(links, {
        baseUrl,
        storage: name,
        key,
        expiresAtEpochSeconds,
        disposition: contentDisposition,
      });
      return { url, expiresAt: new Date(expiresAtEpochSeconds * 1000) };
    },

    /** The service's public route, or the profile's publicBaseUrl (a CDN in front of that route). */
    publicUrl(key) {
      parseKey(key);
      return profile.publicBaseUrl === undefined
        ? publicObjectUrl(baseUrl, name, key)
        : `${profile.publicBaseUrl}/${encodeKeyPath(key)}`;
    },

    async check() {
      await probeWritable(layout).catch((error: unknown) => {
        throw new AppError(
          'STORAGE_UNAVAILABLE',
          `Local storage "${name}" is not writable (${errorCode(error) ?? 'error'})`,
          {
            cause: error,
            details: { storage: name },
          },
        );
      });
    },

    resumable,

    async close() {
      clearInterval(sweeping);
      await sweep;
    },
  };
}

/**
 * Exercises what every write needs: create, fsync, and hard links (create-only publishing depends on
 * them; some network and FAT filesystems lack them), so an unusable directory fails readiness rather
 * than the first upload.
 */
async function probeWritable(layout: {
  objectsRoot: string;
  tempRoot: string;
  modes: FileModes;
}): Promise<void> {
  await makeDirectories(layout.objectsRoot, layout.modes.directory);
  await makeDirectories(layout.tempRoot, layout.modes.directory);
  const probe = join(layout.tempRoot, `check-${randomUUID()}.part`);
  try {
    await writeFile(probe, 'ok', { flag: 'wx', flush: true, mode: layout.modes.file });
    await link(probe, `${probe}.link`);
  } finally {
    await rm(probe, { force: true });
    await rm(`${probe}.link`, { force: true });
  }
}
