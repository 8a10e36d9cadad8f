import type { FileHandle } from 'node:fs/promises';
import { AppError } from '../../../errors.ts';
import type { ObjectInfo, ObjectMetadata } from '../../driver.ts';

/**
 * An object's metadata travels in the same file as its bytes, as a trailer:
 *
 *   [body][metadata JSON, UTF-8][JSON length: uint32 BE][magic "STOWAGE1"]
 *
 * One file means one publish (link or rename), so data and metadata appear, change and disappear
 * together, with no window where either exists without the other and no lock between writers; and a
 * reader holding the file open keeps a consistent snapshot while a writer replaces it. A sidecar file
 * cannot give that without a lock: two renames are never atomic together.
 */

export interface StoredRecord extends ObjectMetadata {
  size: number;
  etag: string;
  sha256: string;
  lastModified: Date;
}

const MAGIC = Buffer.from('STOWAGE1', 'latin1');
const FOOTER_BYTES = 4 + MAGIC.length;
/** Bound on the trailer; S3 allows 2 KB of user metadata, so this is generous. */
const MAX_TRAILER_BYTES = 64 * 1024;
/** One read usually fetches footer and metadata together. */
const TAIL_READ_BYTES = 4096;

const optionalFields = ['cacheControl', 'contentDisposition', 'originalName'] as const;

/** The bytes appended after the body. Throws BAD_REQUEST when the metadata is unreasonably large. */
export function encodeTrailer(record: StoredRecord): Buffer {
  const fields: Record<string, unknown> = {
    v: 1,
    size: record.size,
    etag: record.etag,
    sha256: record.sha256,
    lastModified: record.lastModified.toISOString(),
    contentType: record.contentType,
  };
  for (const name of optionalFields) if (record[name] !== undefined) fields[name] = record[name];
  const json = Buffer.from(JSON.stringify(fields), 'utf8');
  if (json.length > MAX_TRAILER_BYTES)
    throw new AppError('BAD_REQUEST', `Object metadata exceeds ${MAX_TRAILER_BYTES} bytes`);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([json, length, MAGIC]);
}

/** Thrown for a file in the object tree that this driver did not write or that was damaged. */
export class CorruptObjectError extends Error {
  override readonly name = 'CorruptObjectError';
}

/** Reads the trailer of an open object file of `fileSize` bytes (from fstat on the same handle). */
export async function readRecord(handle: FileHandle, fileSize: number): Promise<StoredRecord> {
  if (fileSize < FOOTER_BYTES) throw new CorruptObjectError('file too short for a metadata trailer');
  const tailLength = Math.min(fileSize, TAIL_READ_BYTES);
  const tail = await readAt(handle, fileSize - tailLength, tailLength);
  const footer = tail.subarray(tailLength - FOOTER_BYTES);
  if (!footer.subarray(4).equals(MAGIC)) throw new CorruptObjectError('no metadata trailer');
  const jsonLength = footer.readUInt32BE(0);
  if (jsonLength > MAX_TRAILER_BYTES || jsonLength + FOOTER_BYTES > fileSize)
    throw new CorruptObjectError('metadata trailer length out of bounds');
  const json =
    jsonLength + FOOTER_BYTES <= tailLength
      ? tail.subarray(tailLength - FOOTER_BYTES - jsonLength, tailLength - FOOTER_BYTES)
      : await readAt(handle, fileSize - FOOTER_BYTES - jsonLength, jsonLength);
  return parseRecord(json, fileSize - FOOTER_BYTES - jsonLength);
}

function parseRecord(json: Buffer, bodySize: number): StoredRecord {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new CorruptObjectError('metadata trailer is not JSON', { cause: error });
  }
  const { v, size, etag, sha256, lastModified, contentType } = fields;
  const modified = typeof lastModified === 'string' ? new Date(lastModified) : undefined;
  const valid =
    v === 1 &&
    size === bodySize &&
    typeof etag === 'string' &&
    typeof sha256 === 'string' &&
    typeof contentType === 'string' &&
    modified !== undefined &&
    !Number.isNaN(modified.getTime()) &&
    optionalFields.every((name) => fields[name] === undefined || typeof fields[name] === 'string');
  if (!valid || modified === undefined)
    throw new CorruptObjectError('metadata trailer has unexpected fields');
  const record: StoredRecord = {
    size: bodySize,
    etag: etag as string,
    sha256: sha256 as string,
    lastModified: modified,
    contentType: contentType as string,
  };
  for (const name of optionalFields) if (typeof fields[name] === 'string') record[name] = fields[name];
  return record;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new CorruptObjectError('file shorter than its size');
    filled += bytesRead;
  }
  return buffer;
}

/** The ObjectInfo every driver returns: optional fields present only when they were stored. */
export function toObjectInfo(key: string, record: StoredRecord): ObjectInfo {
  const info: ObjectInfo = {
    key,
    size: record.size,
    etag: record.etag,
    lastModified: record.lastModified,
    contentType: record.contentType,
    sha256: record.sha256,
  };
  for (const name of optionalFields) if (record[name] !== undefined) info[name] = record[name];
  return info;
}
