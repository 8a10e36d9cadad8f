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
 *
 * A key held by a resumable upload until it completes (resumable.ts) is a *reservation* file: no body,
 * the same framing with its own magic ("STOWRSV1"), so nothing reads it as an object. Reads answer
 * it as absent, listings skip it, and a create-only write finds the name taken, as on S3.
 */

export interface StoredRecord extends ObjectMetadata {
  size: number;
  etag: string;
  sha256: string;
  lastModified: Date;
  /** The resumable upload that wrote it (resumable.ts), so that upload knows it is finished. */
  writeId?: string;
}

/** What a reservation file says: whose it is, and until when its upload may run. */
export interface Reservation {
  writeId: string;
  expiresAt: number;
}

const MAGIC = Buffer.from('STOWAGE1', 'latin1');
const RESERVATION_MAGIC = Buffer.from('STOWRSV1', 'latin1');
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
  if (record.writeId !== undefined) fields.writeId = record.writeId;
  const json = Buffer.from(JSON.stringify(fields), 'utf8');
  if (json.length > MAX_TRAILER_BYTES)
    throw new AppError('BAD_REQUEST', `Object metadata exceeds ${MAX_TRAILER_BYTES} bytes`);
  return frame(json, MAGIC);
}

/** How many bytes at the end of `bytes` are a trailer (encodeTrailer), read from its footer. */
export const trailerLength = (bytes: Buffer): number =>
  bytes.readUInt32BE(bytes.length - FOOTER_BYTES) + FOOTER_BYTES;

/** The whole content of a reservation file. */
export const encodeReservation = (reservation: Reservation): Buffer =>
  frame(Buffer.from(JSON.stringify({ v: 1, ...reservation }), 'utf8'), RESERVATION_MAGIC);

function frame(json: Buffer, magic: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([json, length, magic]);
}

/** Thrown for a file in the object tree that this driver did not write or that was damaged. */
export class CorruptObjectError extends Error {
  override readonly name = 'CorruptObjectError';
}

/** Reads the trailer of an open object file of `fileSize` bytes (from fstat on the same handle). */
export async function readRecord(handle: FileHandle, fileSize: number): Promise<StoredRecord> {
  const entry = await readEntry(handle, fileSize);
  if ('reservation' in entry) throw new CorruptObjectError('a reservation, not an object');
  return entry.record;
}

/** An object's record, or the reservation a resumable upload holds the key with. */
export async function readEntry(
  handle: FileHandle,
  fileSize: number,
): Promise<{ record: StoredRecord } | { reservation: Reservation }> {
  if (fileSize < FOOTER_BYTES) throw new CorruptObjectError('file too short for a metadata trailer');
  const tailLength = Math.min(fileSize, TAIL_READ_BYTES);
  const tail = await readAt(handle, fileSize - tailLength, tailLength);
  const footer = tail.subarray(tailLength - FOOTER_BYTES);
  const magic = footer.subarray(4);
  const reserved = magic.equals(RESERVATION_MAGIC);
  if (!reserved && !magic.equals(MAGIC)) throw new CorruptObjectError('no metadata trailer');
  const jsonLength = footer.readUInt32BE(0);
  if (jsonLength > MAX_TRAILER_BYTES || jsonLength + FOOTER_BYTES > fileSize)
    throw new CorruptObjectError('metadata trailer length out of bounds');
  const json =
    jsonLength + FOOTER_BYTES <= tailLength
      ? tail.subarray(tailLength - FOOTER_BYTES - jsonLength, tailLength - FOOTER_BYTES)
      : await readAt(handle, fileSize - FOOTER_BYTES - jsonLength, jsonLength);
  const bodySize = fileSize - FOOTER_BYTES - jsonLength;
  if (reserved) return { reservation: parseReservation(json, bodySize) };
  return { record: parseRecord(json, bodySize) };
}

function parseReservation(json: Buffer, bodySize: number): Reservation {
  const fields = parseJson(json);
  const { v, writeId, expiresAt } = fields;
  if (v !== 1 || bodySize !== 0 || typeof writeId !== 'string' || !Number.isSafeInteger(expiresAt))
    throw new CorruptObjectError('reservation has unexpected fields');
  return { writeId, expiresAt: expiresAt as number };
}

function parseJson(json: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new CorruptObjectError('metadata trailer is not JSON', { cause: error });
  }
}

function parseRecord(json: Buffer, bodySize: number): StoredRecord {
  const fields = parseJson(json);
  const { v, size, etag, sha256, lastModified, contentType, writeId } = fields;
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
  if (typeof writeId === 'string') record.writeId = writeId;
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
