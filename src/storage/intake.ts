import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { AppError, isAppError } from '../errors.ts';
import { isSafeInline, resolveContentType } from './content-type.ts';
import type { ObjectMetadata } from './driver.ts';
import { chooseExtension, generateKey, sanitizeFilename } from './keys.ts';
import { Meter, tooLarge } from './meter.ts';
import { peek } from './peek.ts';
import { backendKey, type Storage } from './storage.ts';

/**
 * The write path shared by multipart uploads and raw PUTs: sniff the first bytes, decide type and
 * key, then stream through a meter (size limit + SHA-256) into the driver. Nothing here buffers more
 * than the sniff window; the driver bounds the rest.
 */

/** file-type reads at most this much to recognise a format (its default sample size). */
const SNIFF_BYTES = 4100;

/** Formats file-type recognises from binary signatures; its text heuristics (XML, vCard…) are not proof. */
const sniffable: ReadonlySet<string> = new Set(
  [...supportedMimeTypes].filter((type) => !type.startsWith('text/') && type !== 'application/xml'),
);

export interface IncomingFile {
  body: Readable;
  declaredType: string | undefined;
  filename: string | undefined;
  /** Caller-chosen key (already validated); generated when absent. */
  key?: string;
  /** Prepended to a generated key (an end user's own area, e.g. "users/42/"). */
  keyPrefix?: string;
  contentLength?: number;
  signal?: AbortSignal;
}

export interface StoredObject {
  storage: string;
  key: string;
  size: number;
  contentType: string;
  etag: string;
  checksum: { sha256: string };
  originalName?: string;
  url?: string;
}

export async function storeObject(storage: Storage, file: IncomingFile): Promise<StoredObject> {
  const { profile, driver } = storage;
  try {
    if (file.contentLength !== undefined && file.contentLength > profile.maxFileSize)
      throw tooLarge(profile.maxFileSize);
    // A body that died before we got to it (a multipart part the parser already failed: the form
    // ended mid-part while an earlier file was still being stored) has emitted its 'error' and
    // 'close' already; listening for them now would wait forever. Its own error says what happened.
    if (file.body.destroyed) throw file.body.errored ?? prematureClose();
    const { head, body } = await peek(file.body, SNIFF_BYTES);
    const sniffed = head.length > 0 ? await fileTypeFromBuffer(head) : undefined;
    const contentType = resolveContentType({
      declared: file.declaredType,
      sniffed,
      sniffable,
      allowed: profile.allowedTypes,
    });
    const originalName = sanitizeFilename(file.filename);
    const key =
      file.key ??
      `${file.keyPrefix ?? ''}${generateKey(chooseExtension(sniffed?.ext, contentType, originalName))}`;
    const dispositionType = isSafeInline(contentType) ? profile.contentDisposition : 'attachment';
    const metadata: ObjectMetadata = {
      contentType,
      contentDisposition: contentDisposition(originalName ?? basename(key), { type: dispositionType }),
      ...(profile.cacheControl !== undefined && { cacheControl: profile.cacheControl }),
      ...(originalName !== undefined && { originalName }),
    };

    const meter = new Meter(profile.maxFileSize);
    // The pipeline carries a client abort or a size-limit error from either side to the other; the
    // driver sees it as a failing body and abandons the write. Its own rejection is observed via `put`.
    const flowing = pipeline(body, meter).catch(() => undefined);
    const result = await driver.put({
      key: backendKey(storage, key),
      body: meter,
      metadata,
      overwrite: profile.overwrite,
      ...(file.contentLength !== undefined && { contentLength: file.contentLength }),
      ...(file.signal !== undefined && { signal: file.signal }),
    });
    await flowing;
    return {
      storage: storage.name,
      key,
      size: result.size,
      contentType,
      etag: result.etag,
      checksum: { sha256: meter.digest() },
      ...(originalName !== undefined && { originalName }),
      ...(profile.access === 'public' && { url: driver.publicUrl(backendKey(storage, key)) }),
    };
  } catch (error) {
    if (!file.body.destroyed) file.body.destroy();
    throw asClientAbort(error);
  }
}

const prematureClose = () =>
  Object.assign(new Error('the body was closed before it was read'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });

const abortCodes = new Set([
  'ERR_STREAM_PREMATURE_CLOSE',
  'FST_MP_PREMATURE_CLOSE',
  'ECONNRESET',
  'ECONNABORTED',
  'ABORT_ERR',
]);

/** A body that died because the client went away is the client's doing, not a server error. */
function asClientAbort(error: unknown): unknown {
  if (isAppError(error)) return error;
  const code = (error as { code?: string } | undefined)?.code;
  const name = (error as { name?: string } | undefined)?.name;
  if (
    (code && abortCodes.has(code)) ||
    name === 'AbortError' ||
    (error as Error | undefined)?.message === 'aborted'
  ) {
    return new AppError(
      'CLIENT_CLOSED_REQUEST',
      'the client closed the connection before the upload finished',
      { cause: error },
    );
  }
  return error;
}
