import { AppError, isAppError } from '../../errors.ts';
import type { ObjectInfo } from '../driver.ts';
import { identify, objectMetadata, SNIFF_BYTES } from '../intake.ts';
import { chooseExtension } from '../keys.ts';
import { tooLarge } from '../meter.ts';
import { backendKey, type Storage } from '../storage.ts';
import { finalStem, type IssuedKey, type KeyBinding } from './issued-key.ts';
import type { DirectUploads } from './port.ts';

/**
 * Verify, then promote (the protocol: issued-key.ts). The staged object is checked exactly as a form
 * upload's stream is: size against `maxFileSize` (and the declared size), the first bytes sniffed
 * against `allowedTypes` with the declared type; a refused one is deleted. An accepted one is copied
 * create-only to its final key with the metadata a form upload stores, then the staging is removed.
 */
export interface Finalized {
  /** The API key of the final object. */
  key: string;
  info: ObjectInfo;
  /** A finalize of this key had already promoted it: the same object, answered again. */
  already: boolean;
}

export async function finalizeDirect(
  storage: Storage,
  direct: DirectUploads,
  issued: IssuedKey,
  binding: KeyBinding,
  log: { warn(object: object, message: string): void },
): Promise<Finalized> {
  const { profile, driver } = storage;
  // At the bucket root, outside every storage prefix (keys.ts DIRECT_STAGING_PREFIX).
  const staged = issued.key;
  const stem = finalStem(issued, binding);
  const state = await direct.inspect(staged);
  if (state.status === 'open')
    throw new AppError('DIRECT_UPLOAD_INCOMPLETE', 'a multipart upload to this key is still open');
  const removeStaged = () =>
    driver
      .delete(staged)
      .catch((error: unknown) => log.warn({ err: error }, 'could not delete a staged direct upload'));
  // One issued key makes one object at most: a finalize after the first (its answer lost, or bytes
  // sent again with the still valid presigned URL) answers the object the first one made.
  const done = await direct.findPromoted(backendKey(storage, stem), issued.id);
  if (done) {
    if (state.status === 'stored') await removeStaged();
    return { key: stem + done.key.slice(backendKey(storage, stem).length), info: done, already: true };
  }
  if (state.status === 'absent')
    throw new AppError('DIRECT_UPLOAD_NOT_FOUND', 'nothing was uploaded to this key');
  const refuse = async (error: unknown): Promise<never> => {
    if (isAppError(error) && error.status < 500) await removeStaged();
    throw error;
  };

  if (state.size > profile.maxFileSize) await refuse(tooLarge(profile.maxFileSize));
  if (issued.size !== undefined && state.size !== issued.size) {
    await refuse(
      new AppError(
        'DIRECT_SIZE_MISMATCH',
        `the upload has ${state.size} bytes, ${issued.size} were declared`,
        {
          details: { size: state.size, declared: issued.size },
        },
      ),
    );
  }
  const head = state.size === 0 ? Buffer.alloc(0) : await direct.readHead(staged, state.etag, SNIFF_BYTES);
  const { contentType, extension } = await identify(
    profile,
    head,
    issued.contentType ?? state.contentType,
  ).catch(refuse);
  const key = `${stem}${suffix(chooseExtension(extension, contentType, issued.filename))}`;
  let info: ObjectInfo;
  try {
    info = await direct.promote({
      from: staged,
      etag: state.etag,
      size: state.size,
      to: backendKey(storage, key),
      metadata: objectMetadata(profile, contentType, issued.filename, key),
      writeId: issued.id,
    });
  } catch (error) {
    // Another finalize of the same key holds the final key right now (or just made it).
    if (isAppError(error) && error.code === 'OBJECT_EXISTS')
      throw new AppError('WRITE_CONFLICT', 'another finalize of this key is in progress; retry', {
        cause: error,
      });
    throw error;
  }
  await verifyPromoted(storage, direct, backendKey(storage, key), info, state.size, head, removeStaged);
  await removeStaged();
  return { key, info, already: false };
}

/**
 * The copy is conditional on the verified ETag, but not every server applies a copy's source
 * condition: Ceph RGW before 17 ignores `x-amz-copy-source-if-match` on CopyObject and UploadPartCopy
 * (tracker.ceph.com/issues/53945; test/http/direct-s3.test.ts shows it), so bytes sent again with the
 * still valid presigned URL after the check would be promoted unchecked. What the check looked at — the
 * size and the first bytes, which decide the type — is checked again on the promoted object, which
 * the client cannot write to; another object is deleted and the finalize answers as a server that
 * honours the condition would (412: the staged upload changed).
 *
 * A promoted object that could not be checked (S3 failed the read) is deleted too, and the staged one
 * kept: a finalize sent again would otherwise find it by its write id and answer it as done. The
 * retry promotes and checks afresh. (Should that delete fail as well, the retry does answer the
 * unchecked object: the one case left, and it takes two S3 failures in a row.)
 */
async function verifyPromoted(
  storage: Storage,
  direct: DirectUploads,
  finalKey: string,
  info: ObjectInfo,
  size: number,
  head: Buffer,
  removeStaged: () => Promise<void>,
): Promise<void> {
  let same: boolean;
  try {
    same =
      info.size === size &&
      (size === 0 || (await direct.readHead(finalKey, info.etag, SNIFF_BYTES)).equals(head));
  } catch (error) {
    await storage.driver.delete(finalKey).catch(() => undefined);
    throw error;
  }
  if (same) return;
  await storage.driver.delete(finalKey);
  await removeStaged();
  throw new AppError(
    'PRECONDITION_FAILED',
    'the direct upload changed while it was being finalized; nothing was stored: upload it again with a new key',
  );
}

const suffix = (extension: string | undefined) => (extension ? `.${extension}` : '');
