/**
 * The error catalogue: every failure a client can see has a stable code and one HTTP status.
 * Drivers and routes throw these; the single error handler (src/http/error-handler.ts) renders them as
 * `{ "error": { "code", "message", "details"? } }`. Codes are public contract: add, never rename.
 */

export const errorCatalogue = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  INVALID_KEY: 400,
  INVALID_MULTIPART: 400,
  INVALID_RANGE: 400,
  NO_FILES: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  STORAGE_NOT_FOUND: 404,
  OBJECT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  OBJECT_EXISTS: 409,
  WRITE_CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_FILES: 413,
  TOO_MANY_PARTS: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONTENT_TYPE_MISMATCH: 415,
  RANGE_NOT_SATISFIABLE: 416,
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
  /** The backend failure behind it, when a driver translated one (logs and metrics, never the body). */
  readonly diagnostics: BackendDiagnostics | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: unknown;
      cause?: unknown;
      headers?: Record<string, string>;
      diagnostics?: BackendDiagnostics;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.diagnostics = options.diagnostics;
  }

  /** True for failures caused by the client (4xx): logged at info, never as errors. */
  get isClientError(): boolean {
    return this.status < 500;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
