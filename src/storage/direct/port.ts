import type { ObjectInfo, ObjectMetadata } from '../driver.ts';

/**
 * The direct-upload port a driver offers (StorageDriver.direct): presigned requests the client sends
 * to the backend itself, and the few calls finalize needs to verify and promote what arrived. The
 * protocol is explained at the top of issued-key.ts. Keys here are backend keys. Only S3 has it.
 */

/** One S3 request of Uppy's `signRequest` contract, decided by the route (routes/direct.ts). */
export type DirectOperation =
  | { op: 'PutObject'; key: string; contentType?: string; contentLength?: number }
  /** A browser form upload (POST policy): the backend itself refuses a size outside the range. */
  | { op: 'PostObject'; key: string; contentType?: string; minSize: number; maxSize: number }
  | { op: 'CreateMultipartUpload'; key: string; contentType?: string }
  | { op: 'UploadPart'; key: string; uploadId: string; partNumber: number }
  | { op: 'ListParts'; key: string; uploadId: string }
  | { op: 'CompleteMultipartUpload'; key: string; uploadId: string }
  | { op: 'AbortMultipartUpload'; key: string; uploadId: string };

export interface PresignedRequest {
  url: string;
  /** Headers that are signed and must be sent as they are. */
  headers: Record<string, string>;
  /** PostObject: the form fields to post with the file (the file last). */
  fields?: Record<string, string>;
}

/** The staged object, as finalize finds it. */
export type StagedState =
  | { status: 'absent' }
  /** A multipart upload to the key is still open (there may be an object too, from an earlier one). */
  | { status: 'open' }
  /** `contentType`: what the upload declared (its Content-Type), undefined when it declared none. */
  | { status: 'stored'; size: number; etag: string; contentType: string | undefined };

export interface PromoteInput {
  /** The staged object and the ETag it had when it was verified: only those bytes are promoted. */
  from: string;
  etag: string;
  size: number;
  to: string;
  metadata: ObjectMetadata;
  /** Recorded on the final object, so a repeated finalize can recognise it (findPromoted). */
  writeId: string;
}

export interface DirectUploads {
  presign(operation: DirectOperation, expiresInSeconds: number): Promise<PresignedRequest>;
  inspect(key: string): Promise<StagedState>;
  /** The first `bytes` bytes of the staged object, if it still has this ETag (else PRECONDITION_FAILED). */
  readHead(key: string, etag: string, bytes: number): Promise<Buffer>;
  /** Copies create-only (OBJECT_EXISTS when `to` is taken) and answers the final object. */
  promote(input: PromoteInput): Promise<ObjectInfo>;
  /** The object a finalize with this write id already made under `stem` (the final key but its extension). */
  findPromoted(stem: string, writeId: string): Promise<ObjectInfo | undefined>;
}
