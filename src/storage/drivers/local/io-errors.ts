import { AppError, isAppError } from '../../../errors.ts';

/** The errno of a Node fs error, if it is one. */
export const errorCode = (error: unknown): string | undefined =>
  error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;

/**
 * Translates an unexpected filesystem failure into the catalogue (STORAGE_ERROR, 502), answered as the
 * S3 driver answers a refusal: the operation and errno go to `backend` (logs and metrics), the
 * original error stays as `cause` for the log, and the client sees neither (nor a path, nor the key,
 * whose profile prefix is hidden from clients). Catalogue errors pass through unchanged.
 */
export function storageError(error: unknown, operation: string): AppError {
  if (isAppError(error)) return error;
  const code = errorCode(error);
  if (code === 'ENAMETOOLONG')
    return new AppError('INVALID_KEY', 'Invalid key: too long for this filesystem', { cause: error });
  return new AppError('STORAGE_ERROR', 'The storage backend rejected the request', {
    cause: error,
    backend: { operation, ...(code ? { code } : {}) },
  });
}
