import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectMetadata } from '../driver.ts';

/**
 * The resumable-upload port a driver offers (StorageDriver.resumable); the protocol is explained at
 * the top of upload-id.ts. Every call is one request's work: nothing is kept between calls, so any
 * instance can make any of them. Keys are backend keys.
 */

/** What is fixed for an upload (from its id). */
export interface ResumableUpload {
  key: string;
  writeId: string;
  length: number;
  partSize: number;
  expiresAt: number;
}

/** An upload in progress, as its driver found it (drivers add what they need to go on). */
export interface OpenUpload {
  status: 'open';
  offset: number;
}

export type UploadProgress = { status: 'gone' } | { status: 'finished'; info: ObjectInfo } | OpenUpload;

export interface AppendInput<State extends OpenUpload = OpenUpload> {
  upload: ResumableUpload;
  state: State;
  body: Readable;
  /** The body's declared length (Content-Length), when it has one: whole parts of it may stream to S3. */
  bodyLength?: number | undefined;
  /** The request's part buffer: at least min(`upload.partSize`, `upload.length`) bytes. */
  buffer: Buffer;
  /**
   * The object's metadata, decided from its first bytes (sniffing) before any of them is stored in
   * the final object; a rejection (a refused type) stops the append.
   */
  describe: (head: Buffer) => Promise<ObjectMetadata>;
  signal?: AbortSignal;
}

export interface AppendResult {
  offset: number;
  /** Set when this append reached Upload-Length and the object is stored. */
  finished?: { etag: string };
}

export interface ResumableStore {
  /** The part size of a new upload of this length (fixed for its whole life). */
  partSize(length: number): number;
  /** Claims the final key (create-only) for the upload's whole life. */
  begin(upload: ResumableUpload): Promise<void>;
  /**
   * Refuses (UPLOAD_LOCKED, 423) while another request appends to the upload. Only makes a second
   * PATCH fail fast: correctness never depends on it.
   */
  lease(upload: ResumableUpload): Promise<{
    /** `ended`: the request found the upload finished or gone; the lease's own state goes too. */
    release(ended?: boolean): Promise<void>;
  }>;
  progress(upload: ResumableUpload): Promise<UploadProgress>;
  append(input: AppendInput): Promise<AppendResult>;
  /** Removes everything of an open upload; later requests find it gone. */
  terminate(upload: ResumableUpload, state: OpenUpload): Promise<void>;
}
