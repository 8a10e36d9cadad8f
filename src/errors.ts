/**
 * The error catalogue: every failure a client can see has a stable code and one HTTP status.
 * Drivers and routes throw these; the single error handler (src/http/error-handler.ts) renders them as
 * `{ "error": { "code", "message", "details"? } }`. Codes are public contract: add, never rename.
 */

export const errorCatalogue = {
  BAD_REQUEST: 400,
  UPLOAD_PAST_LENGTH: 400,
  VALIDATION_FAILED: 400,
  INVALID_KEY: 400,
  INVALID_MULTIPART: 400,
  INVALID_RANGE: 400,
  NO_FILES: 400,
  RECEIPT_INVALID: 400,
  DIRECT_SIZE_MISMATCH: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  HOST_NOT_ALLOWED: 403,
  CROSS_SITE_WRITE: 403,
  DIRECT_KEY_REFUSED: 403,
  DIRECT_KEY_EXPIRED: 403,
  NOT_FOUND: 404,
  STORAGE_NOT_FOUND: 404,
  OBJECT_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  DIRECT_UPLOAD_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  OBJECT_EXISTS: 409,
  WRITE_CONFLICT: 409,
  UPLOAD_OFFSET_MISMATCH: 409,
  DIRECT_UPLOAD_INCOMPLETE: 409,
  DIRECT_NOT_SUPPORTED: 409,
  UPLOAD_EXPIRED: 410,
  UPLOAD_FINISHED: 410,
  TUS_VERSION_UNSUPPORTED: 412,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_FILES: 413,
  TOO_MANY_PARTS: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONTENT_TYPE_MISMATCH: 415,
  RANGE_NOT_SATISFIABLE: 416,
  UPLOAD_LOCKED: 423,
  TOO_MANY_REQUESTS: 429,
  HEADERS_TOO_LARGE: 431,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_ERROR: 500,
  STORAGE_ERROR: 502,
  STORAGE_NOT_SUPPORTED: 502,
  STORAGE_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  STORAGE_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

/**
 * What each code means to a client, one line each: the README's error table is generated from this
 * and the catalogue (`npm run docs`). A `Record` over every code, so a new code without a meaning
 * fails the type check.
 */
export const errorMeanings: Record<ErrorCode, string> = {
  BAD_REQUEST: 'The request is malformed (e.g. a body that is not valid JSON).',
  VALIDATION_FAILED: 'A parameter, query or body field is invalid; `details.issues` lists each one.',
  INVALID_KEY:
    'The object key is not allowed (`.` or `..` segments, `//`, control characters, over 1,024 bytes).',
  INVALID_MULTIPART: 'The `multipart/form-data` body is malformed.',
  INVALID_RANGE: 'The `Range` header cannot be parsed.',
  NO_FILES: 'A multipart upload carried no file part.',
  UNAUTHORIZED:
    'No credentials, or invalid ones (bad API key, bad or expired token); see `WWW-Authenticate`.',
  FORBIDDEN: 'The caller may not do this, or the link is tampered with or expired.',
  HOST_NOT_ALLOWED:
    'Open access (anonymous writes) is served only to loopback hosts and configured public base URLs: the `Host` names another (DNS rebinding).',
  CROSS_SITE_WRITE:
    "A write from another site's page: its `Origin` is neither this service nor allowed by CORS (or `Sec-Fetch-Site: cross-site`).",
  NOT_FOUND: 'No such route, or nothing the caller may see there.',
  STORAGE_NOT_FOUND: 'No storage of that name (or none the caller has a grant on).',
  OBJECT_NOT_FOUND: 'No object under that key.',
  UPLOAD_NOT_FOUND:
    'No resumable upload with this id: never created, terminated, or not one the caller may touch.',
  DIRECT_SIZE_MISMATCH:
    'The directly uploaded object is not the size declared when its key was issued; it was deleted.',
  DIRECT_KEY_REFUSED:
    'The direct-upload key was not issued by Stowage to this caller for this storage (or was altered).',
  DIRECT_KEY_EXPIRED: 'The direct-upload key is past its expiry; ask `direct/sign` for a new one.',
  DIRECT_UPLOAD_NOT_FOUND:
    'Nothing was uploaded to this direct-upload key (or it was refused, or expired and was removed).',
  DIRECT_UPLOAD_INCOMPLETE:
    'A multipart upload to this direct-upload key is still open: complete or abort it before `finalize`.',
  DIRECT_NOT_SUPPORTED:
    'The storage offers no direct uploads: a local one, or a public one with no `prefix` (its public-read policy would cover the staged, unverified uploads); upload through `objects` or `uploads`.',
  UPLOAD_PAST_LENGTH: "The PATCH body goes past the upload's `Upload-Length`; nothing of it was kept.",
  UPLOAD_OFFSET_MISMATCH:
    "`Upload-Offset` is not the upload's offset (HEAD the upload for it; `details.offset` has it too).",
  UPLOAD_EXPIRED: 'The resumable upload is past its `Upload-Expires`; create a new one.',
  UPLOAD_FINISHED: 'The resumable upload is complete; GET its URL for the stored object.',
  TUS_VERSION_UNSUPPORTED:
    '`Tus-Resumable` is missing or names a version other than 1.0.0 (see `Tus-Version`).',
  RECEIPT_INVALID:
    'The receipt given to `POST /v1/receipts/verify` was not signed by this service (or its key), or was altered.',
  UPLOAD_LOCKED:
    'Another request is writing to this upload, or its state could not be read just now; retry after `Retry-After`.',
  METHOD_NOT_ALLOWED: 'The route exists, but not with this method.',
  REQUEST_TIMEOUT: 'The upload ran past `server.requestTimeout` and was aborted; nothing was stored.',
  OBJECT_EXISTS: 'The storage is create-only and the key is taken; the stored object is untouched.',
  WRITE_CONFLICT: 'A concurrent write to the same key won; retry.',
  PRECONDITION_FAILED: 'A condition on the object (e.g. `If-Match`) did not hold.',
  PAYLOAD_TOO_LARGE: "A file is larger than the storage's `maxFileSize` (or the body than the route allows).",
  TOO_MANY_FILES: "The multipart request has more files than the storage's `maxFiles`.",
  TOO_MANY_PARTS: 'The multipart request has too many parts or fields.',
  UNSUPPORTED_MEDIA_TYPE:
    "The content type is not in the storage's `allowedTypes` (or the request body type is wrong).",
  CONTENT_TYPE_MISMATCH: 'The bytes do not match the declared content type.',
  RANGE_NOT_SATISFIABLE: 'The requested range lies outside the object.',
  TOO_MANY_REQUESTS: 'The caller already has `limits.uploadsPerPrincipal` uploads running; retry later.',
  HEADERS_TOO_LARGE: 'The request headers are too large.',
  CLIENT_CLOSED_REQUEST: 'The client went away before the answer (logged; the client never sees it).',
  INTERNAL_ERROR: 'A bug; the details are only in the log.',
  STORAGE_ERROR: 'S3 refused the request (credentials, permissions, bucket).',
  STORAGE_NOT_SUPPORTED:
    "The storage's S3 server does not support what the request needs (it answered 501, or does not enforce conditional writes); a retry will not help.",
  STORAGE_UNAVAILABLE: 'S3 is unreachable or busy; retry after `Retry-After`.',
  SERVICE_UNAVAILABLE:
    'Stowage itself cannot take the request now (shutting down, upload memory or a cap reached, token keys unavailable); retry after `Retry-After`.',
  STORAGE_TIMEOUT: 'S3 did not answer in time.',
};

/**
 * What a driver knows about the backend failure behind an error: for logs and metrics only, never
 * sent to clients (every driver's answers look alike; S3 codes and errnos are not client contract).
 */
export interface BackendDiagnostics {
  /** The backend call, e.g. 'PutObject' (S3) or 'write the object' (local). */
  operation: string;
  /** The backend's own code: the S3 error code or the errno, e.g. 'AccessDenied', 'EACCES'. */
  code?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  /** Extra response headers (Retry-After, Content-Range, WWW-Authenticate…). */
  readonly headers: Readonly<Record<string, string>>;
  /** For the operator's log only, never sent: why exactly it failed (e.g. jose's reason for a token). */
  readonly diagnostic: string | undefined;
  /** The backend failure behind it, when a driver translated one (logs and metrics, never the body). */
  readonly backend: BackendDiagnostics | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: unknown;
      cause?: unknown;
      headers?: Record<string, string>;
      diagnostic?: string;
      backend?: BackendDiagnostics;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.diagnostic = options.diagnostic;
    this.backend = options.backend;
  }

  /** True for failures caused by the client (4xx): logged at info, never as errors. */
  get isClientError(): boolean {
    return this.status < 500;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
