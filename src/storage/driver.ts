import type { Readable } from 'node:stream';
import type { DirectUploads } from './direct/port.ts';
import type { ResumableStore } from './resumable/store.ts';

/**
 * The storage port: what Stowage needs from a backend, nothing more. One implementation per backend
 * (S3, local disk); one contract suite (test/contract) runs against each. Keys here are full backend
 * keys (profile prefix included). Drivers translate their own failures into catalogue errors
 * (src/errors.ts): OBJECT_NOT_FOUND, OBJECT_EXISTS, PRECONDITION_FAILED, RANGE_NOT_SATISFIABLE,
 * STORAGE_UNAVAILABLE, STORAGE_TIMEOUT, STORAGE_ERROR — nothing above a driver sees SDK errors.
 */

/** What Stowage records with every object and returns from head/get, identically for every driver. */
export interface ObjectMetadata {
  contentType: string;
  cacheControl?: string;
  /** The Content-Disposition stored on the object (so direct/presigned reads get it too). */
  contentDisposition?: string;
  /** Original client filename, NFC, control characters stripped. */
  originalName?: string;
  /** Hex SHA-256 of the body, when the driver can persist it (see the driver's docs). */
  sha256?: string;
}

export interface ObjectInfo extends ObjectMetadata {
  key: string;
  size: number;
  /** Strong entity tag, quoted as in HTTP (`"abc…"`). */
  etag: string;
  lastModified: Date;
}

export interface PutInput {
  key: string;
  /**
   * The body. If it errors (size limit hit, client gone, …) the write is abandoned, nothing becomes
   * visible, and `put` rejects with the body's own error so the caller sees why.
   */
  body: Readable;
  metadata: ObjectMetadata;
  /** false ⇒ create-only: the write fails with OBJECT_EXISTS when the key exists, decided atomically by the backend. */
  overwrite: boolean;
  /**
   * With overwrite: replace only the stored object with exactly this (strong, quoted) ETag, else
   * PRECONDITION_FAILED — decided by the backend as atomically as it can (see each driver's put).
   */
  ifMatch?: string;
  /** Exact body length when the caller knows it (raw PUT with Content-Length). */
  contentLength?: number;
  /** Aborting destroys the body and cleans up anything partial before `put` rejects. */
  signal?: AbortSignal;
  /**
   * The body's hex SHA-256 once it has been read to its end (undefined before), when the caller
   * hashes it anyway (the upload receipt's Meter): a driver that signs the body's hash sends this one
   * instead of hashing the same bytes again.
   */
  sha256?: () => string | undefined;
  /**
   * The part buffer admitted for this upload (src/http/admission.ts), `partBufferSize` bytes, lent to
   * this write for its duration. Absent: the driver leases its own from the upload memory pool.
   */
  buffer?: Buffer;
}

/** What a write will look like, known before its body is read: decides the buffer it needs. */
export interface WriteShape {
  /** Exact body length (raw PUT with Content-Length). */
  contentLength?: number;
  /** An upper bound on the body (a form's Content-Length). */
  atMost?: number;
  overwrite: boolean;
  ifMatch?: string;
}

export interface PutResult {
  key: string;
  size: number;
  etag: string;
  /** An object was there and this write replaced it (a route answers 200 instead of 201). */
  replaced: boolean;
}

export interface ByteRange {
  /** Inclusive offsets, as in HTTP `bytes=start-end`. */
  start: number;
  end: number;
}

export interface GetInput {
  key: string;
  range?: ByteRange;
  /** Quoted entity tags from If-None-Match; a match resolves with `notModified`. */
  ifNoneMatch?: string;
  signal?: AbortSignal;
}

export type GetResult =
  | { notModified: true; info: Pick<ObjectInfo, 'etag'> & Partial<ObjectInfo> }
  | { notModified: false; info: ObjectInfo; body: Readable; range?: ByteRange & { total: number } };

export interface ListInput {
  prefix: string;
  cursor?: string;
  limit: number;
}

export interface ListResult {
  objects: Array<Pick<ObjectInfo, 'key' | 'size' | 'etag' | 'lastModified'>>;
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export interface PresignInput {
  key: string;
  expiresInSeconds: number;
  /** Overrides the stored Content-Disposition for this link (download filename). */
  contentDisposition?: string;
  /**
   * The object's type and disposition when the link is signed. S3 serves presigned reads itself,
   * so the S3 driver pins them into the URL (`response-content-type`, `response-content-disposition`):
   * an object swapped for HTML afterwards is still served as the harmless type it was. Local links
   * are served by Stowage, which decides from the object it reads, so the local driver ignores them.
   */
  signedFor?: { contentType: string; contentDisposition: string };
}

export interface StorageDriver {
  readonly kind: 's3' | 'local';
  /**
   * Bytes of upload memory a write of this shape holds while it runs (its first part buffer; extra
   * ones for parallel parts are borrowed only when free), 0 when its body streams through.
   */
  partBufferSize(write: WriteShape): number;
  put(input: PutInput): Promise<PutResult>;
  get(input: GetInput): Promise<GetResult>;
  /** Rejects with OBJECT_NOT_FOUND when absent. */
  head(key: string): Promise<ObjectInfo>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  list(input: ListInput): Promise<ListResult>;
  /** A time-limited URL for reading one object without Stowage credentials. */
  presignGet(input: PresignInput): Promise<{ url: string; expiresAt: Date }>;
  /** The URL of an object in a public storage (CDN or bucket URL). */
  publicUrl(key: string): string;
  /**
   * Readiness: resolves when the backend is reachable and the bucket/directory usable, and (S3,
   * create-only) when its server enforces conditional writes; STORAGE_NOT_SUPPORTED when it does not.
   */
  check(): Promise<void>;
  /** Releases sockets and timers. */
  close(): Promise<void>;
  /** Resumable (tus) uploads, when the driver offers them (src/storage/resumable/store.ts). */
  readonly resumable?: ResumableStore;
  /** Direct uploads (the client sends the bytes to the backend), when the driver offers them (direct/port.ts). */
  readonly direct?: DirectUploads;
}
