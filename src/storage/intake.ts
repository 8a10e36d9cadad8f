import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { asClientAbort } from './client-abort.ts';
import { isSafeInline, resolveContentType } from './content-type.ts';
import { dispositionHeader } from './disposition.ts';
import type { ObjectMetadata } from './driver.ts';
import { feed } from './feed.ts';
import { chooseExtension, generateKey, sanitizeFilename } from './keys.ts';
import { Meter, tooLarge } from './meter.ts';
import { peek } from './peek.ts';
import { backendKey, type Storage } from './storage.ts';
import { type WriteSink, writeOutcome } from './writes.ts';

/**
 * The write path shared by multipart uploads and raw PUTs: sniff the first bytes, decide type and
 * key, then stream through a meter (size limit + SHA-256) into the driver. Nothing here buffers more
 * than the sniff window; the driver bounds the rest.
 */

/** file-type reads at most this much to recognise a format (its default sample size). */
export const SNIFF_BYTES = 4100;

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
  /** Where this write's outcome goes instead of the storage's sink (an all-or-nothing batch). */
  report?: WriteSink;
  /** This write's overwrite policy (a conditional PUT's), when it is not the profile's. */
  overwrite?: boolean;
  /** Replace only the stored object with this ETag (see PutInput.ifMatch). */
  ifMatch?: string;
  /** The upload's admitted part buffer (see PutInput.buffer). */
  buffer?: Buffer;
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

/** The receipt, and whether the write replaced an object (never for create-only writes). */
export async function storeObject(
  storage: Storage,
  file: IncomingFile,
): Promise<StoredObject & { replaced: boolean }> {
  const { profile, driver } = storage;
  const report = file.report ?? storage.reportWrite;
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    if (file.contentLength !== undefined && file.contentLength > profile.maxFileSize)
      throw tooLarge(profile.maxFileSize);
    // A body that died before we got to it (a multipart part the parser already failed: the form
    // ended mid-part while an earlier file was still being stored) has emitted its 'error' and
    // 'close' already; listening for them now would wait forever. Its own error says what happened.
    if (file.body.destroyed) throw file.body.errored ?? prematureClose();
    const { head, body } = await peek(file.body, SNIFF_BYTES);
    const originalName = sanitizeFilename(file.filename);
    const { contentType, extension } = await identify(profile, head, file.declaredType);
    const key =
      file.key ??
      `${file.keyPrefix ?? ''}${generateKey(chooseExtension(extension, contentType, originalName))}`;
    const metadata = objectMetadata(profile, contentType, originalName, key);

    const meter = new Meter(profile.maxFileSize);
    // A client abort or a size-limit error goes from either side to the other (feed.ts); the driver
    // sees it as a failing body and abandons the write.
    feed(body, meter);
    const result = await driver.put({
      key: backendKey(storage, key),
      body: meter,
      sha256: meter.endedDigest,
      metadata,
      overwrite: file.overwrite ?? profile.overwrite,
      ...(file.ifMatch !== undefined && { ifMatch: file.ifMatch }),
      ...(file.contentLength !== undefined && { contentLength: file.contentLength }),
      ...(file.signal !== undefined && { signal: file.signal }),
      ...(file.buffer !== undefined && { buffer: file.buffer }),
    });
    report?.({ outcome: 'stored', seconds: seconds(), bytes: result.size });
    return {
      storage: storage.name,
      key,
      size: result.size,
      contentType,
      etag: result.etag,
      checksum: { sha256: meter.digest() },
      ...(originalName !== undefined && { originalName }),
      ...(profile.access === 'public' && { url: driver.publicUrl(backendKey(storage, key)) }),
      replaced: result.replaced,
    };
  } catch (error) {
    if (!file.body.destroyed) file.body.destroy();
    // Refusals before the driver is called (size announced too large, type not allowed) count too.
    report?.({ outcome: writeOutcome(error), seconds: seconds(), bytes: 0 });
    throw asClientAbort(error);
  }
}

/**
 * The stored type from the first bytes (up to SNIFF_BYTES are looked at) and the declared type;
 * rejects with 415 when the storage's allowedTypes refuse it. `extension`: the sniffed format's.
 */
export async function identify(
  profile: Storage['profile'],
  head: Buffer,
  declaredType: string | undefined,
): Promise<{ contentType: string; extension: string | undefined }> {
  const sniffed = head.length > 0 ? await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES)) : undefined;
  const contentType = resolveContentType({
    declared: declaredType,
    sniffed,
    sniffable,
    allowed: profile.allowedTypes,
  });
  return { contentType, extension: sniffed?.ext };
}

/** What is stored with an object of this type and (sanitised) name, as every upload path does it. */
export function objectMetadata(
  profile: Storage['profile'],
  contentType: string,
  originalName: string | undefined,
  key: string,
): ObjectMetadata {
  const dispositionType = isSafeInline(contentType) ? profile.contentDisposition : 'attachment';
  return {
    contentType,
    contentDisposition: dispositionHeader(originalName ?? basename(key), dispositionType),
    ...(profile.cacheControl !== undefined && { cacheControl: profile.cacheControl }),
    ...(originalName !== undefined && { originalName }),
  };
}

const prematureClose = () =>
  Object.assign(new Error('the body was closed before it was read'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
